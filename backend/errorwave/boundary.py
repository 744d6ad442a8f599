"""The decision boundary of a 2-D dataset (xor, circles, spirals): the model's output
over a grid of the input plane, with the current parameters. It is computed here, with
the engine's own forward pass (vectorised over the grid by torch.vmap), so that the page
only draws it and never re-implements the network."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from errorwave import datasets
from errorwave.config import Config, DatasetData
from errorwave.graph import CompiledGraph, Params

GRID = 33  # points per side: 1,089 points in one batched forward pass
MAX_POINTS = 200  # dataset points sent with the grid
PAD = 0.15  # margin around the data, as a fraction of its extent


def is_planar(config: Config) -> bool:
    """True when the data is a built-in dataset with two features and one input node."""
    data = config.data
    return isinstance(data, DatasetData) and datasets.dataset_shape(data.dataset)[0] == 2


def _score(out: torch.Tensor) -> tuple[torch.Tensor, float]:
    """One number per grid point and the level of the boundary: the output itself for one
    output unit (targets 0/1, boundary 0.5), else the margin of class 1 over class 0."""
    if out.shape[1] == 1:
        return out[:, 0], 0.5
    return out[:, 1] - out[:, 0], 0.0


def _forward_grid(graph: CompiledGraph, params: Params, pts: torch.Tensor) -> torch.Tensor:
    """The output at every point ([N, out]). The graph's ops act on column vectors
    (W @ x + b), so the points go in as the columns of one matrix with each bias as a
    column: one forward pass for the whole grid. torch.vmap is the fallback (slower)."""
    inp, out_id = graph.inputs[0], graph.output
    cols = {k: (v.unsqueeze(1) if k[1] == "bias" else v) for k, v in params.items()}
    try:
        out = graph.forward({inp: pts.T}, cols)[out_id]
        if out.shape == (graph.s.sizes[out_id], len(pts)):
            return out.T
    except RuntimeError:
        pass
    return torch.vmap(lambda p: graph.forward({inp: p}, params)[out_id])(pts).reshape(len(pts), -1)


def decision_boundary(graph: CompiledGraph, params: Params, config: Config) -> dict[str, Any] | None:
    """{x, y, z, level, points}: z[i][j] is the score at (x[j], y[i]); points are the
    dataset's samples with their labels. None when the data is not a 2-D dataset."""
    if not is_planar(config) or len(graph.inputs) != 1:
        return None
    data = config.data
    assert isinstance(data, DatasetData)
    feats, labels = datasets.load(data.dataset, data.samples, config.seeds.data)
    lo, hi = feats.min(axis=0), feats.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - PAD * span, hi + PAD * span
    xs = np.linspace(lo[0], hi[0], GRID)
    ys = np.linspace(lo[1], hi[1], GRID)
    gx, gy = np.meshgrid(xs, ys)  # row i is y[i]
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=graph.dtype)
    with torch.no_grad():
        out = _forward_grid(graph, params, pts)
    score, level = _score(out)
    z = [[v if math.isfinite(v) else None for v in row] for row in score.reshape(GRID, GRID).tolist()]
    step = max(1, len(feats) // MAX_POINTS)
    points = [{"x": float(f[0]), "y": float(f[1]), "label": int(c)}
              for f, c in zip(feats[::step], labels[::step], strict=True)]
    return {"x": xs.tolist(), "y": ys.tolist(), "z": z, "level": level, "points": points}
