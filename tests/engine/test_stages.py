"""Slow motion as data: every rule reports, in each frame, the sub-steps that led to it
({stage, nodes, caption}), and they say what the rule really did at that step."""

from __future__ import annotations

import copy

import pytest

from errorwave.engine import Engine
from errorwave.presets import get_preset
from errorwave.rules import registry
from errorwave.server.protocol import Frame

# a preset each rule runs on (the rule swapped in where no preset uses it)
RUNS = {"backprop": "backprop-chain", "pc": "pc-variance-10", "fpa": "fpa-chain-gamma1",
        "zil": "zil-mlp", "fazil": "fazil-mlp", "fa": "zoo-fa-xor", "dfa": "zoo-dfa-mlp4",
        "dtp": "zoo-dtp-spirals", "tp": "zoo-dtp-spirals", "gaitprop": "zoo-gaitprop-orthogonal",
        "eqprop": "zoo-eqprop-beta010", "ilprox": "zil-mlp",
        "node_perturbation": "zoo-node-perturbation",
        "weight_perturbation": "zoo-weight-perturbation"}


def frames_of(rule: str, **settings: object) -> tuple[Engine, list[dict]]:
    config = copy.deepcopy(get_preset(RUNS[rule]))
    if config["rule"]["name"] != rule:
        config["rule"] = {"name": rule}
    config["rule"].update(settings)
    engine = Engine(config)
    return engine, [engine.frame, *engine.run(min(engine.steps, 12))]


def test_every_rule_declares_its_stages() -> None:
    assert set(RUNS) == set(registry)


@pytest.mark.parametrize("rule", sorted(RUNS))
def test_stages_are_true_to_the_frame(rule: str) -> None:
    engine, frames = frames_of(rule)
    ids = set(engine.structure.order)
    for f in frames:
        Frame.model_validate(f)
        assert f["stages"], (rule, f["t"])
        for s in f["stages"]:
            assert set(s["nodes"]) <= ids and s["nodes"], (rule, f["t"], s)
            assert 0 < len(s["caption"]) <= 110, s["caption"]
        # a plasticity stage exactly where plasticity fired, over exactly those vertices
        fired = {e["node"] for e in f["events"] if e["kind"] == "plasticity"}
        shown = {n for s in f["stages"] if s["stage"] == "plasticity" for n in s["nodes"]}
        assert shown == fired, (rule, f["t"])


def test_predictive_coding_order_within_a_step() -> None:
    _, frames = frames_of("pc")
    assert [s["stage"] for s in frames[3]["stages"]] == ["values", "predictions", "errors"]
    assert "errors of step t − 1" in frames[3]["stages"][0]["caption"]
    assert "feed-forward" in frames[0]["stages"][0]["caption"]


def test_zil_applies_the_weights_that_fired_before() -> None:
    engine, frames = frames_of("zil")
    for f in frames[1:]:
        applied = next((s["nodes"] for s in f["stages"] if s["stage"] == "weights applied"), [])
        before = {e["node"] for e in frames[f["t"] - 1]["events"] if e["kind"] == "plasticity"}
        assert set(applied) == before
    order = [s["stage"] for s in frames[1]["stages"]]
    assert order == ["values", "weights applied", "predictions", "errors", "plasticity"]
    _, first = frames_of("zil", order="weights_first")
    assert [s["stage"] for s in first[1]["stages"]][:2] == ["weights applied", "values"]


def test_backprop_runs_one_vjp_per_vertex_in_reverse_order() -> None:
    engine, frames = frames_of("backprop")
    s = engine.structure
    assert [st["nodes"] for st in frames[0]["stages"]] == [[s.output]]
    seen = []
    for f in frames[1:]:
        vjps = [st for st in f["stages"] if st["stage"] == "vjp"]
        assert all(s.longest[st["nodes"][0]] == f["t"] for st in vjps)
        seen += [st["nodes"][0] for st in vjps]
    assert seen == [n for n in reversed(s.order) if n not in s.inputs and n != s.output]


def test_eqprop_names_its_phases() -> None:
    engine, frames = frames_of("eqprop", free_steps=3, nudged_steps=3)
    names = [[st["stage"] for st in f["stages"]] for f in frames]
    assert names[1] == names[3] == ["free phase"]
    assert names[4][:2] == ["free equilibrium", "nudged phase"]
    assert "contrast" in names[5]


def test_lean_frames_carry_the_stages_too() -> None:
    full = Engine(get_preset("zil-mlp")).run(2)
    lean = Engine(get_preset("zil-mlp"), detail="lean").run(2)
    assert [f["stages"] for f in full] == [f["stages"] for f in lean]
