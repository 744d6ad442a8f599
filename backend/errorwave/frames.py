"""Build the frame of one step: every vertex's numbers, the parameter updates, the
divergence from backprop, energy, events and readouts (JSON-ready dicts).

Two levels of detail:
- "full" (the CLI and the Python API): every update matrix, nested as lists;
- "lean" (the websocket): per parameterised vertex only the update's norm beside its
  divergence; full matrices only for the vertices a client watches.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from errorwave.divergence import SegmentComparator, flat
from errorwave.graph import CompiledGraph, ParamKey, Params, Values
from errorwave.rules.base import Observation

Detail = Literal["full", "lean"]


def nan_to_none(obj: Any) -> Any:
    """Replace NaN/Inf by None so that the result is valid JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nan_to_none(v) for v in obj]
    return obj


class FrameBuilder:
    """Per graph: the comparators of every vertex and parameter group with backprop."""

    def __init__(self, graph: CompiledGraph):
        self.g = graph
        sizes = graph.s.sizes
        self.node_cmp = SegmentComparator([sizes[n] for n in graph.hidden_and_output])
        self.param_groups: list[list[ParamKey]] = [
            [k for k in graph.param_keys if k[0] == n] for n in graph.param_nodes]
        self.param_cmp = SegmentComparator(
            [sum(math.prod(self.param_shape(k)) for k in keys) for keys in self.param_groups])

    def param_shape(self, key: ParamKey) -> tuple[int, ...]:
        nid, kind, src = key
        sizes = self.g.s.sizes
        return (sizes[nid], sizes[src]) if kind == "weight" else (sizes[nid],)

    def set_references(self, adjoint: Values, bp_updates: Params) -> None:
        """Backprop's numbers for this example: -dL/dv per vertex, -lr dL/dtheta per
        parameterised vertex (its parameters in param_keys order)."""
        g = self.g
        self.node_cmp.set_references([-adjoint[n] for n in g.hidden_and_output])
        self.param_cmp.set_references(
            [flat([bp_updates[k] for k in keys]) for keys in self.param_groups])

    def divergence(self, obs: Observation) -> dict[str, Any]:
        g = self.g
        signals = obs.signals or obs.errors
        div_nodes, total_nodes = self.node_cmp([signals[n] for n in g.hidden_and_output])
        div_params, total = self.param_cmp(
            [flat([obs.updates[k] for k in keys]) for keys in self.param_groups])
        return {"nodes": dict(zip(g.hidden_and_output, div_nodes, strict=True)),
                "params": dict(zip(g.param_nodes, div_params, strict=True)),
                "total": total, "total_nodes": total_nodes}

    def build(self, obs: Observation, meta: dict[str, Any], events: list[dict[str, Any]],
              detail: Detail = "full", watch: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """The frame; `meta` carries revision, example, t and done."""
        g = self.g
        if detail == "full":
            updates = g.nest(obs.updates)
        else:
            updates = g.nest({k: v for k, v in obs.updates.items() if k[0] in watch})
        frame = {"type": "frame", **meta, "phase": obs.phase, "nodes": self.node_lists(obs),
                 "updates": updates, "divergence": self.divergence(obs), "energy": obs.energy,
                 "events": events, "readouts": obs.readouts}
        if detail == "lean":
            frame["update_norms"] = {
                n: float(flat([obs.updates[k] for k in keys]).norm())
                for n, keys in zip(g.param_nodes, self.param_groups, strict=True)}
        finite = math.isfinite(obs.energy) and not any(e["kind"] == "diverged" for e in events)
        return frame if finite else nan_to_none(frame)

    def node_lists(self, obs: Observation) -> dict[str, dict[str, list[float]]]:
        """value/prediction/error of every vertex, converted to lists in one go."""
        g, sizes = self.g, self.g.s.sizes
        parts: list[torch.Tensor] = []
        for nid in g.order:
            v = obs.values[nid]
            parts += [v, obs.predictions.get(nid, v), obs.errors.get(nid, torch.zeros_like(v))]
        numbers = torch.cat([p.reshape(-1) for p in parts]).tolist()
        out, i = {}, 0
        for nid in g.order:
            n = sizes[nid]
            out[nid] = {"value": numbers[i:i + n], "prediction": numbers[i + n:i + 2 * n],
                        "error": numbers[i + 2 * n:i + 3 * n]}
            i += 3 * n
        return out
