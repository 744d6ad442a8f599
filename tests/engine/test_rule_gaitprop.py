"""GAIT-prop (docs/rules.md): first-order equal to backprop with orthogonal weights, only at
the top layer otherwise; square invertible chains only."""

from __future__ import annotations

import pytest
import torch

from errorwave import ConfigInvalid, Engine


def square_chain(orthogonal: bool, gamma: float = 1e-3, n: int = 4, depth: int = 4, seed: int = 0,
                 ortho_penalty: float = 0.0, act: str = "leaky_relu", slope: float = 0.1,
                 loss: str = "mse"):
    gen = torch.Generator().manual_seed(seed)
    nodes = [{"id": "x", "op": "input", "size": n}]
    params, prev = {}, "x"
    for i in range(1, depth + 1):
        nid = "y" if i == depth else f"h{i}"
        node = {"id": nid, "op": "linear", "inputs": [prev], "size": n}
        if i < depth:
            node.update(activation=act, negative_slope=slope)
        nodes.append(node)
        w = torch.randn(n, n, generator=gen, dtype=torch.float64)
        w = torch.linalg.qr(w)[0] if orthogonal else w / n ** 0.5 + torch.eye(n)
        bias = 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)
        params[nid] = {"weight": {prev: w.tolist()}, "bias": bias.tolist()}
        prev = nid
    x = torch.randn(n, generator=gen, dtype=torch.float64).tolist()
    t = torch.randn(n, generator=gen, dtype=torch.float64).tolist()
    return {"graph": {"nodes": nodes, "output": "y", "loss": loss}, "params": params,
            "data": {"input": {"x": x}, "target": t},
            "rule": {"name": "gaitprop", "gamma": gamma, "orthogonality": ortho_penalty}}


def final_div(config):
    engine = Engine(config)
    engine.run()
    assert engine.halted is None
    return engine.divergence()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_orthogonal_weights_give_backprop_to_first_order(seed):
    div = final_div(square_chain(True, 1e-3, seed=seed))
    for nid, m in div["params"].items():
        assert m["rel_l2"] < 1e-5, nid
    assert div["params"]["y"]["rel_l2"] < 1e-12
    assert div["total_nodes"]["rel_l2"] < 1e-5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_non_orthogonal_weights_match_only_at_the_top(seed):
    div = final_div(square_chain(False, 1e-3, seed=seed))
    assert div["params"]["y"]["rel_l2"] < 1e-12
    for nid in ("h1", "h2", "h3"):
        assert div["params"][nid]["rel_l2"] > 1e-2, nid


def test_gamma_too_small_loses_precision():
    coarse = final_div(square_chain(True, 1e-2, seed=0))["params"]["h1"]["rel_l2"]
    fine = final_div(square_chain(True, 1e-5, seed=0))["params"]["h1"]["rel_l2"]
    assert fine > 100 * coarse  # gamma^-(L-l) amplifies rounding


def test_orthogonality_penalty_is_zero_at_orthogonal_weights_and_pulls_toward_them():
    div = final_div(square_chain(True, 1e-3, seed=0, ortho_penalty=1.0))
    assert div["total"]["rel_l2"] < 1e-5
    engine = Engine(square_chain(False, 1e-3, seed=0, ortho_penalty=0.2))
    before = sum(engine.frame["readouts"]["off_diagonal_wwt"].values())
    for _ in range(30):
        engine.next_example()
    assert sum(engine.frame["readouts"]["off_diagonal_wwt"].values()) < 0.5 * before


def test_targets_travel_one_layer_per_step():
    engine = Engine(square_chain(True))
    frames = [engine.frame] + engine.run()
    arrived = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "error_arrived"}
    assert arrived == {"y": 0, "h3": 1, "h2": 2, "h1": 3}


@pytest.mark.parametrize(("change", "reason"), [
    ({"act": "relu"}, "activation 'relu'"),
    ({"slope": 0.0}, "negative_slope 0"),
    ({"act": "tanh"}, "activation 'tanh'"),
    ({"loss": "cross_entropy"}, "half-MSE"),
])
def test_refusals_name_the_problem(change, reason):
    with pytest.raises(ConfigInvalid, match=reason):
        Engine(square_chain(True, **change))


def test_refuses_non_square_layers():
    config = square_chain(True)
    config["graph"]["nodes"][1]["size"] = 5
    del config["params"]
    with pytest.raises(ConfigInvalid, match="node 'h1' has 5 units but the input has 4"):
        Engine(config)
