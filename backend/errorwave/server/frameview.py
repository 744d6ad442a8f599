"""What a session's clients see of its engine: lean frames, the watched nodes' updates.

The engine builds lean frames (errorwave.frames): per vertex its value, prediction and
error; per parameter node the norm of its update (`update_norms`) and the divergence from
backprop; the full update matrices only for the watched nodes (`updates`). Each step's
parameter updates are one flat tensor; this view keeps them, within a budget, so that
`watch` can answer with a node's updates at every step of the example already computed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from errorwave.engine import Engine
from errorwave.server.binary import Layout

KEEP_BYTES = 8 << 20  # flat update tensors kept per session for `watch` (oldest go first)


class FrameView:
    def __init__(self, engine: Engine):
        self.engine = engine
        g, sizes = engine.graph, engine.structure.sizes
        self.segments = engine.frames.segments
        self.node_cols: Layout = tuple(
            (("nodes", nid, f), (sizes[nid],)) for nid in g.order
            for f in ("value", "prediction", "error"))
        self.layout: Layout = self.node_cols
        self.kept: OrderedDict[int, torch.Tensor] = OrderedDict()
        self.kept_bytes = 0

    # ----- per step ------------------------------------------------------------------------
    def new_example(self) -> None:
        self.kept.clear()
        self.kept_bytes = 0

    def record(self) -> None:
        """Keep the current step's flat updates (the frame builder's) for `watch`."""
        nums = self.engine.frames.last
        if nums is None:
            return
        t = self.engine.t
        old = self.kept.pop(t, None)
        if old is not None:
            self.kept_bytes -= old.numel() * 8
        self.kept[t] = nums.updates
        self.kept_bytes += nums.updates.numel() * 8
        while self.kept_bytes > KEEP_BYTES and len(self.kept) > 1:
            _, dropped = self.kept.popitem(last=False)
            self.kept_bytes -= dropped.numel() * 8

    def nested(self, flat: torch.Tensor, nodes: tuple[str, ...]) -> dict[str, Any]:
        """{node: {"weight": {src: [[...]]}, "bias": [...] | None}} for these nodes."""
        return self.engine.frames.nested(flat, set(nodes))

    # ----- frames -------------------------------------------------------------------------
    def lean(self, watched: tuple[str, ...]) -> dict[str, Any]:
        """The engine's current frame: lean, with the watched nodes' updates."""
        frame = self.engine.frame
        if set(frame["updates"]) != set(watched):  # built before a watch changed
            flat = self.kept.get(self.engine.t)
            frame = {**frame, "updates": {} if flat is None else self.nested(flat, watched)}
        frame["lean"] = True
        return frame

    def set_layout(self, watched: tuple[str, ...]) -> None:
        """The float32 columns of binary frames: every vertex's numbers, then the watched
        nodes' update matrices."""
        cols = list(self.node_cols)
        for nid in self.engine.graph.param_nodes:
            if nid not in watched:
                continue
            for (_, kind, src), _, shape in self.segments[nid]:
                cols.append((("updates", nid, "weight", src) if kind == "weight"
                             else ("updates", nid, "bias"), shape))
        self.layout = tuple(cols)

    def past_updates(self, watched: tuple[str, ...]) -> dict[str, Any]:
        """{t: {node: {weight, bias}}} for every step still kept (JSON keys are strings)."""
        return {str(t): self.nested(flat, watched) for t, flat in self.kept.items()}
