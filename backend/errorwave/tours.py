"""Guided tours: the numbers a stop's caption tells the class to read (docs/tours.md).

A caption names each number in one fixed form, so that the page can show it live and a
test can check it against the engine:

    [side b: ]NODE's (error|update) (rel L2|cosine|angle) (=|<|>) NUMBER[°]

e.g. "h1's update rel L2 < 1e-12" or "side b: h's update angle = 134°". `error` compares the
node's error with -dL/dv, `update` its parameter update with backprop's (the frame's
divergence); `angle` is arccos(cosine) in degrees. "=" holds when the value rounds to the
number as written (its last digit), "<" and ">" are strict bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from errorwave.config import Config, TourStop

READING = re.compile(
    r"(?:side (?P<side>b): )?(?P<node>[A-Za-z_][A-Za-z0-9_\-]*)'s (?P<signal>error|update) "
    r"(?P<metric>rel L2|cosine|angle) (?P<op>[=<>]) (?P<number>-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)°?")


@dataclass(frozen=True)
class Reading:
    side: Literal["a", "b"]
    node: str
    signal: Literal["error", "update"]
    metric: Literal["rel L2", "cosine", "angle"]
    op: Literal["=", "<", ">"]
    number: str

    def tolerance(self) -> float:
        """Half a unit of the number's last written digit."""
        mantissa, _, exponent = self.number.partition("e")
        decimals = len(mantissa.partition(".")[2])
        return 0.5 * 10.0 ** (int(exponent or 0) - decimals)

    def holds(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        claimed = float(self.number)
        if self.op == "<":
            return value < claimed
        if self.op == ">":
            return value > claimed
        return abs(value - claimed) <= self.tolerance() * (1 + 1e-9)


def readings(caption: str) -> list[Reading]:
    """Every number a caption names, in order."""
    return [Reading(m["side"] or "a", m["node"], m["signal"], m["metric"], m["op"], m["number"])  # type: ignore[arg-type]
            for m in READING.finditer(caption)]


def value(frame: dict[str, Any], reading: Reading) -> float | None:
    """The reading's value in a frame of the reading's side (None: undefined there)."""
    table = frame["divergence"]["nodes" if reading.signal == "error" else "params"]
    metrics = table.get(reading.node)
    if metrics is None:
        return None
    if reading.metric == "rel L2":
        return metrics["rel_l2"]
    cosine = metrics["cosine"]
    if reading.metric == "cosine" or cosine is None:
        return cosine
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def side_config(config: Config, stop: TourStop, side: Literal["a", "b"]) -> dict[str, Any]:
    """The configuration one side of a stop runs: the tour's own, or the stop's compared
    rule on the same graph, weights, data and seeds (the engine ignores compare and tour)."""
    raw = config.model_dump(mode="json", exclude_none=True, exclude={"compare", "tour"})
    if side == "b":
        if stop.compare is None:
            raise ValueError("a 'side b' reading needs a stop with compare")
        raw["rule"] = stop.compare.rule.model_dump(mode="json")
    return raw
