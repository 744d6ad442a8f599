"""Compare mode: two engines on one graph, one clock (docs/server.md, "Compare mode").

Side "a" runs `config.rule`, side "b" runs `config.compare.rule`; both start from the same
graph, initial weights, data and seeds. This module holds what the pair needs beyond two
engines: side b's configuration, the limits the two share, where a `set` goes, and the
per-node divergence of side b from side a, computed with divergence.py's comparator with
side a's current numbers as the reference.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch

from errorwave.config import Limits
from errorwave.divergence import SegmentComparator, flat
from errorwave.engine import Engine, with_field
from errorwave.issues import ConfigInvalid, Issue

SetKind = Literal["rule_a", "rule_b", "rebuild"]


def has_compare(raw: Any) -> bool:
    return isinstance(raw, dict) and isinstance(raw.get("compare"), dict)


def side_b_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Side b's configuration: the pair's, with the compared rule as its rule."""
    out = {k: v for k, v in raw.items() if k not in ("compare", "tour")}
    out["rule"] = raw["compare"]["rule"]
    return out


def shared_limits(limits: Limits) -> Limits:
    """Limits count both engines: each side gets half of every cap."""
    return Limits(**{k: max(1, v // 2) for k, v in limits.model_dump().items()})


def as_side_b(err: ConfigInvalid) -> ConfigInvalid:
    """Side b's issues name the field of the pair's configuration (`compare.rule...`)."""
    issues = [Issue("compare." + i.path if i.path.startswith("rule") else i.path,
                    f"compare mode, side b: {i.message}" if i.code == "limit" else i.message,
                    i.node, i.field, i.code) for i in err.issues]
    return ConfigInvalid(issues)


def as_pair(err: ConfigInvalid) -> ConfigInvalid:
    issues = [Issue(i.path, f"compare mode (the limits count both sides): {i.message}"
                    if i.code == "limit" else i.message, i.node, i.field, i.code)
              for i in err.issues]
    return ConfigInvalid(issues)


def set_kind(path: str) -> SetKind:
    """A rule setting of one side keeps the learned parameters and restarts the example on
    both sides; anything else (graph, data, seeds, a rule's name, compare on/off) rebuilds
    the pair from its configuration."""
    parts = path.split(".")
    if parts[0] == "rule" and len(parts) == 2 and parts[1] != "name":
        return "rule_a"
    if parts[:2] == ["compare", "rule"] and len(parts) == 3 and parts[2] != "name":
        return "rule_b"
    return "rebuild"


def patched(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the configuration with the dotted `path` set to `value` (`compare: null`
    removes compare mode)."""
    if path == "compare" and value is None:
        return {k: v for k, v in raw.items() if k != "compare"}
    return with_field(copy.deepcopy(raw), path, value)


def _signals(e: Engine) -> torch.Tensor:
    """The per-vertex signals the frame compares with backprop (errors unless the rule
    reports other signals), flat in `hidden_and_output` order."""
    obs, nums = e.observation, e.frames.last
    assert obs is not None and nums is not None
    if obs.signals is None:
        return nums.errors
    return flat([obs.signals[n] for n in e.graph.hidden_and_output])


class Versus:
    """Side b's numbers against side a's, per vertex (error signals) and per parameter node
    (updates): the shape of a frame's `divergence`, with side a as the reference."""

    def __init__(self, engine: Engine):
        g, sizes = engine.graph, engine.structure.sizes
        self.g = g
        self.nodes = SegmentComparator([sizes[n] for n in g.hidden_and_output])
        groups = engine.frames.param_groups
        shape = engine.frames.param_shape
        self.params = SegmentComparator(
            [sum(math.prod(shape(k)) for k in keys) for keys in groups])

    def __call__(self, a: Engine, b: Engine) -> dict[str, Any]:
        na, nb = a.frames.last, b.frames.last
        assert na is not None and nb is not None
        self.nodes.set_references([_signals(a)])
        self.params.set_references([na.updates])
        per_node, total_nodes = self.nodes(_signals(b))
        per_param, total = self.params(nb.updates)
        g = self.g
        return {"nodes": dict(zip(g.hidden_and_output, per_node, strict=True)),
                "params": dict(zip(g.param_nodes, per_param, strict=True)),
                "total": total, "total_nodes": total_nodes}
