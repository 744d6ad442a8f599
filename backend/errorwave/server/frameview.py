"""What a session's clients see of its engine: lean frames, the watched nodes' updates.

A lean frame carries, per vertex, its value, prediction and error; per parameter node the
norm of its update (`update_norms`) and the divergence from backprop; the full update
matrices only for the watched nodes (`updates`). The parameter updates of each step are
kept as one flat tensor (segment sums give the norms), so that `watch` can answer with a
node's updates at every step of the example still kept.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch

from errorwave.engine import Engine
from errorwave.server.binary import Layout

# A parameter node's place in the flat update tensor: (key, start, shape) per parameter.
Segment = list[tuple[tuple[str, str, str], int, tuple[int, ...]]]
KEEP_BYTES = 8 << 20  # flat update tensors kept per session for `watch` (oldest go first)


class FrameView:
    def __init__(self, engine: Engine):
        self.engine = engine
        g, sizes = engine.graph, engine.structure.sizes
        self.keys = list(g.param_keys)
        self.segments: dict[str, Segment] = {n: [] for n in g.param_nodes}
        offset, seg_ids = 0, []
        for i_node, nid in enumerate(g.param_nodes):
            for key in self.keys:
                if key[0] != nid:
                    continue
                shape = (sizes[nid], sizes[key[2]]) if key[1] == "weight" else (sizes[nid],)
                self.segments[nid].append((key, offset, shape))
                offset += math.prod(shape)
                seg_ids += [i_node] * math.prod(shape)
        self.order = [k for nid in g.param_nodes for (k, _, _) in self.segments[nid]]
        self.seg = torch.tensor(seg_ids, dtype=torch.long)
        self.n_nodes = len(g.param_nodes)
        self.node_cols: Layout = tuple(
            (("nodes", nid, f), (sizes[nid],)) for nid in g.order
            for f in ("value", "prediction", "error"))
        self.layout: Layout = self.node_cols
        self.kept: OrderedDict[int, torch.Tensor] = OrderedDict()
        self.kept_bytes = 0
        self.flat: torch.Tensor = torch.zeros(0, dtype=torch.float64)

    # ----- per step ------------------------------------------------------------------------
    def new_example(self) -> None:
        self.kept.clear()
        self.kept_bytes = 0

    def record(self) -> None:
        """The current step's updates as one flat tensor (kept for `watch`)."""
        obs = self.engine.observation
        if obs is None or not self.order:
            self.flat = torch.zeros(0, dtype=torch.float64)
        else:
            self.flat = torch.cat([obs.updates[k].detach().reshape(-1) for k in self.order]).to(
                torch.float64)
        t = self.engine.t
        old = self.kept.pop(t, None)
        if old is not None:
            self.kept_bytes -= old.numel() * 8
        self.kept[t] = self.flat
        self.kept_bytes += self.flat.numel() * 8
        while self.kept_bytes > KEEP_BYTES and len(self.kept) > 1:
            _, dropped = self.kept.popitem(last=False)
            self.kept_bytes -= dropped.numel() * 8

    def norms(self) -> dict[str, float | None]:
        g = self.engine.graph
        if not self.n_nodes:
            return {}
        sq = torch.zeros(self.n_nodes, dtype=torch.float64).index_add_(0, self.seg, self.flat * self.flat)
        return {n: (v if math.isfinite(v) else None)
                for n, v in zip(g.param_nodes, sq.sqrt().tolist(), strict=True)}

    def nested(self, flat: torch.Tensor, nodes: tuple[str, ...]) -> dict[str, Any]:
        """{node: {"weight": {src: [[...]]}, "bias": [...] | None}} for these nodes."""
        out: dict[str, Any] = {}
        for nid in nodes:
            entry: dict[str, Any] = {"weight": {}, "bias": None}
            for (_, kind, src), start, shape in self.segments[nid]:
                part = flat[start:start + math.prod(shape)].reshape(shape).tolist()
                if kind == "weight":
                    entry["weight"][src] = part
                else:
                    entry["bias"] = part
            out[nid] = entry
        return out

    # ----- frames -------------------------------------------------------------------------
    def lean(self, watched: tuple[str, ...]) -> dict[str, Any]:
        """The engine's current frame, lean: updates only for `watched`, norms for all."""
        frame = {k: v for k, v in self.engine.frame.items() if k != "updates"}
        frame["updates"] = self.nested(self.flat, watched)
        frame["update_norms"] = self.norms()
        frame["lean"] = True
        return frame

    def set_layout(self, watched: tuple[str, ...]) -> None:
        """The float32 columns of binary frames: every vertex's numbers, then the watched
        nodes' update matrices."""
        cols = list(self.node_cols)
        for nid in watched:
            for (_, kind, src), _, shape in self.segments[nid]:
                cols.append((("updates", nid, "weight", src) if kind == "weight"
                             else ("updates", nid, "bias"), shape))
        self.layout = tuple(cols)

    def past_updates(self, watched: tuple[str, ...]) -> dict[str, Any]:
        """{t: {node: {weight, bias}}} for every step still kept (JSON keys are strings)."""
        return {str(t): self.nested(flat, watched) for t, flat in self.kept.items()}
