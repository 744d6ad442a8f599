"""Build the frame of one step: every vertex's numbers, the parameter updates, the
divergence from backprop, energy, events and readouts (JSON-ready dicts).

Two levels of detail:
- "full" (the CLI and the Python API): every update matrix, nested as lists;
- "lean" (the websocket): per parameterised vertex only the update's norm beside its
  divergence; full matrices only for the vertices a client watches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


@dataclass
class StepNumbers:
    """One step's numbers, flat, built once and shared by the events, the divergence and the
    frame: every vertex's value, prediction and error (`g.order`), every parameter update
    (`g.param_keys` order, so each parameter node's updates are one contiguous segment)."""

    numbers: torch.Tensor
    updates: torch.Tensor
    errors: torch.Tensor  # the errors of `g.hidden_and_output`, flat (a view into numbers' data)
    finite: bool  # every number above and the energy are finite
    peak: float  # the largest magnitude among the numbers (an upper bound for values)


class FrameBuilder:
    """Per graph: the comparators of every vertex and parameter group with backprop, and the
    layout of the flat numbers of a step."""

    def __init__(self, graph: CompiledGraph):
        self.g = graph
        sizes = graph.s.sizes
        self.node_cmp = SegmentComparator([sizes[n] for n in graph.hidden_and_output])
        self.param_groups: list[list[ParamKey]] = [
            [k for k in graph.param_keys if k[0] == n] for n in graph.param_nodes]
        self.param_cmp = SegmentComparator(
            [sum(math.prod(self.param_shape(k)) for k in keys) for keys in self.param_groups])
        # param_keys are grouped by vertex in topological order: the flat updates are the
        # parameter groups one after the other
        self.key_order = [k for keys in self.param_groups for k in keys]
        self.segments: dict[str, list[tuple[ParamKey, int, tuple[int, ...]]]] = {}
        offset = 0
        for nid, keys in zip(graph.param_nodes, self.param_groups, strict=True):
            self.segments[nid] = []
            for k in keys:
                shape = self.param_shape(k)
                self.segments[nid].append((k, offset, shape))
                offset += math.prod(shape)
        err_idx: list[int] = []
        i = 0
        for nid in graph.order:
            n = sizes[nid]
            if nid in graph.hidden_and_output:
                err_idx += range(i + 2 * n, i + 3 * n)
            i += 3 * n
        self.err_idx = torch.tensor(err_idx, dtype=torch.long)
        self.last: StepNumbers | None = None

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

    # ----- the numbers of a step ----------------------------------------------------------
    def numbers(self, obs: Observation) -> StepNumbers:
        """Two concatenations, the comparisons with backprop, and one finiteness check for
        the whole step (the updates' sums of squares tell whether they are all finite)."""
        g = self.g
        parts: list[torch.Tensor] = []
        for nid in g.order:
            v = obs.values[nid]
            parts += [v, obs.predictions.get(nid, v), obs.errors.get(nid, torch.zeros_like(v))]
        numbers = torch.cat([p.detach().reshape(-1) for p in parts]).to(torch.float64)
        updates = flat([obs.updates[k] for k in self.key_order])
        errors = numbers[self.err_idx]
        signals = errors if obs.signals is None else \
            flat([obs.signals[n] for n in g.hidden_and_output])
        self._nodes = self.node_cmp(signals)
        self._params = self.param_cmp(updates)
        finite = math.isfinite(obs.energy) and bool(torch.isfinite(numbers).all()) and (
            math.isfinite(sum(self.param_cmp.last_sq))  # else: non-finite, or squares overflowed
            or bool(torch.isfinite(updates).all()))
        peak = float(numbers.abs().max()) if numbers.numel() and finite else math.inf
        self.last = StepNumbers(numbers, updates, errors, finite, peak)
        return self.last

    def divergence(self, obs: Observation, nums: StepNumbers | None = None) -> dict[str, Any]:
        g = self.g
        if nums is None or nums is not self.last:
            nums = self.numbers(obs)
        (div_nodes, total_nodes), (div_params, total) = self._nodes, self._params
        return {"nodes": dict(zip(g.hidden_and_output, div_nodes, strict=True)),
                "params": dict(zip(g.param_nodes, div_params, strict=True)),
                "total": total, "total_nodes": total_nodes}

    def update_norms(self) -> dict[str, float | None]:
        """Per parameter node, the norm of its update (from the comparator's segment sums)."""
        sq = self.param_cmp.last_sq
        # None where unknown: non-finite updates, or finite ones whose squares overflow
        return {n: math.sqrt(v) if math.isfinite(v) else None
                for n, v in zip(self.g.param_nodes, sq, strict=True)}

    def nested(self, flat_updates: torch.Tensor, nodes: Any) -> dict[str, Any]:
        """{node: {"weight": {src: [[..]]}, "bias": [..] | None}} from the flat updates."""
        out: dict[str, Any] = {}
        for nid in self.g.param_nodes:
            if nid not in nodes:
                continue
            entry: dict[str, Any] = {"weight": {}, "bias": None}
            for (_, kind, src), start, shape in self.segments[nid]:
                part = flat_updates[start:start + math.prod(shape)].reshape(shape).tolist()
                if kind == "weight":
                    entry["weight"][src] = part
                else:
                    entry["bias"] = part
            out[nid] = entry
        return out

    # ----- the frame ------------------------------------------------------------------------
    def build(self, obs: Observation, meta: dict[str, Any], events: list[dict[str, Any]],
              detail: Detail = "full", watch: set[str] | frozenset[str] = frozenset(),
              nums: StepNumbers | None = None) -> dict[str, Any]:
        """The frame; `meta` carries revision, example, t and done. Lists are built only for
        what is sent: in lean frames, the watched vertices' update matrices."""
        g = self.g
        nums = nums or self.numbers(obs)
        divergence = self.divergence(obs, nums)
        updates = g.nest(obs.updates) if detail == "full" else self.nested(nums.updates, watch)
        frame = {"type": "frame", **meta, "phase": obs.phase, "nodes": self.node_lists(nums),
                 "updates": updates, "divergence": divergence, "energy": obs.energy,
                 "events": events, "readouts": obs.readouts}
        if detail == "lean":
            frame["update_norms"] = self.update_norms()
        return frame if nums.finite else nan_to_none(frame)

    def node_lists(self, nums: StepNumbers) -> dict[str, dict[str, list[float]]]:
        """value/prediction/error of every vertex, converted to lists in one go."""
        g, sizes = self.g, self.g.s.sizes
        numbers = nums.numbers.tolist()
        out, i = {}, 0
        for nid in g.order:
            n = sizes[nid]
            out[nid] = {"value": numbers[i:i + n], "prediction": numbers[i + n:i + 2 * n],
                        "error": numbers[i + 2 * n:i + 3 * n]}
            i += 3 * n
        return out
