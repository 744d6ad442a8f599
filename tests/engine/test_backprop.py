"""Backprop against central finite differences, and its stepped backward front."""

from __future__ import annotations

import pytest
import torch

from errorwave import Engine
from tests.engine.builders import mixed_dag, mlp, skip_dag


def finite_difference(engine: Engine, key, h: float = 1e-6) -> torch.Tensor:
    g, ex = engine.graph, engine.example
    base = engine.params[key]
    grad = torch.zeros_like(base)
    for idx in range(base.numel()):
        vals = []
        for sign in (1, -1):
            params = dict(engine.params)
            p = base.clone().reshape(-1)
            p[idx] += sign * h
            params[key] = p.reshape(base.shape)
            out = g.forward(ex.inputs, params)[g.output]
            vals.append(float(g.loss(out, ex.target)))
        grad.reshape(-1)[idx] = (vals[0] - vals[1]) / (2 * h)
    return grad


@pytest.mark.parametrize("config", [
    mlp(3, "A", "mse", seed=1, rule={"name": "backprop"}),
    mlp(4, "B", "cross_entropy", seed=2, rule={"name": "backprop"}),
    skip_dag({"name": "backprop"}),
    mixed_dag(),
], ids=["mlp-A-mse", "mlp-B-ce", "skip-dag", "mixed-ops"])
def test_gradients_match_finite_differences(config):
    engine = Engine(config)
    for key in engine.graph.param_keys:
        fd = finite_difference(engine, key)
        ad = engine.grads[key]
        rel = float((fd - ad).norm() / max(float(ad.norm()), 1e-12))
        assert rel < 1e-6, (key, rel)


def test_stepped_front_moves_one_depth_per_step():
    engine = Engine(skip_dag({"name": "backprop"}))
    longest = engine.structure.longest
    assert engine.steps == 3
    frames = [engine.frame] + engine.run()
    for frame in frames:
        for nid in ("h1", "h2", "h3", "y"):
            err = torch.tensor(frame["nodes"][nid]["error"], dtype=torch.float64)
            if longest[nid] <= frame["t"]:
                assert torch.allclose(err, -engine.adjoint[nid])
            else:
                assert not err.any(), (nid, frame["t"])
    assert frames[-1]["divergence"]["total"]["rel_l2"] == 0.0
    assert {e["node"] for e in frames[-1]["events"] if e["kind"] == "plasticity"} == {"h1", "h2", "h3", "y"}
