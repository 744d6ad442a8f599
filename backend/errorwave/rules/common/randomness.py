"""A rule's fixed random draws (feedback matrices, initial inverses), seeded from
seeds.init and a salt derived from the rule's name, so that they are independent of the
forward weights (drawn from seeds.init itself) and of each other, the same in every
example and run, and a new rule needs no table entry.

The salt spells the name in hex-speak after "5EED" (fa -> 0x5EEDFA, tp -> 0x5EED7B,
gait -> 0x5EED6A17); a name that cannot be spelled gets the first 8 hex digits of its
SHA-256 instead.
"""

from __future__ import annotations

import hashlib
import math

import torch

from errorwave.config import Config

_HEXSPEAK = {**{c: c for c in "abcdef0123456789"}, "g": "6", "i": "1", "l": "1", "o": "0", "p": "b",
             "s": "5", "t": "7", "z": "2"}


def seed_salt(name: str) -> int:
    """The salt of a rule family's draws; a "prop" suffix is dropped (gaitprop -> gait)."""
    stem = name.lower().removesuffix("prop")
    if stem and all(c in _HEXSPEAK for c in stem):
        return int("5eed" + "".join(_HEXSPEAK[c] for c in stem), 16)
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def generator(config: Config, rule: str) -> torch.Generator:
    """Fixed random draws of a rule, from seeds.init (the same every example and run)."""
    return torch.Generator().manual_seed((config.seeds.init + seed_salt(rule)) % (2 ** 63))


def uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float,
            dtype: torch.dtype) -> torch.Tensor:
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    return ((2 * u - 1) * bound).to(dtype)


def fan_bound(n: int) -> float:
    return 1.0 / math.sqrt(max(n, 1))
