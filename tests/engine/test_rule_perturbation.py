"""Weight and node perturbation (docs/rules.md): one trial per step, the running average
tends to the gradient (cosine -> 1, error ~ 1/sqrt(N))."""

from __future__ import annotations

import math

import pytest
import torch

from errorwave import ConfigInvalid, Engine
from errorwave.divergence import compare, flat
from tests.engine.builders import mixed_dag, mlp, skip_dag

RULES = ["weight_perturbation", "node_perturbation"]


def estimate_errors(rule: str, trials: list[int], seeds: int = 6) -> dict[int, list[float]]:
    """Relative error of the average of N estimates against the gradient, over seeds
    (rule internals: no frames, so thousands of trials stay cheap)."""
    engine = Engine(mlp(3, "B", seed=2, width=4, rule={"name": rule, "sigma": 1e-5}))
    g = engine.graph
    ref = flat([engine.grads[k] for k in g.param_keys])
    out: dict[int, list[float]] = {n: [] for n in trials}
    for seed in range(seeds):
        r = engine.rule_cls(engine.rule.ctx)
        r.gen = torch.Generator().manual_seed(100 + seed)
        for _ in range(max(trials)):
            r.advance()
            if r.n in out:
                est = r.param_estimate()
                m = compare(flat([est[k] for k in g.param_keys]), ref)
                out[r.n].append(m["rel_l2"])
    return out


@pytest.mark.parametrize("rule", RULES)
def test_estimate_converges_like_one_over_sqrt_n(rule):
    errs = estimate_errors(rule, [50, 200, 800])
    rms = {n: math.sqrt(sum(e * e for e in v) / len(v)) for n, v in errs.items()}
    assert rms[800] < rms[200] < rms[50]
    for n in (50, 200):
        ratio = rms[n] / rms[4 * n]  # 2 for 1/sqrt(N)
        assert 1.4 < ratio < 2.9, (n, ratio)
    assert rms[800] < 0.4


@pytest.mark.parametrize("rule", RULES)
def test_one_trial_per_step_and_cosine_rises(rule):
    engine = Engine(mlp(3, "A", seed=1, rule={"name": rule, "trials": 400}))
    frames = [engine.frame] + engine.run()
    assert len(frames) == 401 and engine.halted is None
    assert [f["readouts"]["trials"] for f in frames[:3]] == [0, 1, 2]
    assert all(f["phase"] == "trial" for f in frames)
    assert frames[0]["divergence"]["total"]["cosine"] == 0.0  # nothing estimated yet
    assert frames[-1]["divergence"]["total"]["cosine"] > 0.9
    assert frames[-1]["divergence"]["total_nodes"]["cosine"] > 0.9  # errors on -dL/dv's scale
    assert {e["node"] for e in frames[-1]["events"] if e["kind"] == "plasticity"} == {"h1", "h2", "y"}


def test_node_perturbation_is_less_noisy_than_weight_perturbation():
    np_, wp = estimate_errors(RULES[1], [200], 4), estimate_errors(RULES[0], [200], 4)
    assert sum(np_[200]) < sum(wp[200])


@pytest.mark.parametrize("rule", RULES)
def test_deterministic_and_runs_on_dags_of_linear_nodes(rule):
    a, b = Engine(skip_dag({"name": rule, "trials": 50})), Engine(skip_dag({"name": rule,
                                                                          "trials": 50}))
    a.run()
    b.run()
    assert a.frame["updates"] == b.frame["updates"]
    with pytest.raises(ConfigInvalid, match="every non-input node to be 'linear'"):
        Engine(mixed_dag({"name": rule}))
