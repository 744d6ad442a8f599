"""Every validation error names the node and the field (docs/contract.md)."""

from __future__ import annotations

import copy
import json

import pytest

from errorwave import ConfigInvalid, Engine, Limits, parse_config
from errorwave.schema import SCHEMA_DIR, render, schemas
from tests.engine.builders import mlp


def issues_of(config, limits=None):
    with pytest.raises(ConfigInvalid) as info:
        parse_config(config, limits)
    return info.value.issues


def edited(fn):
    config = mlp(3, "B", seed=0)
    fn(config)
    return config


def nodes(config):
    return {n["id"]: n for n in config["graph"]["nodes"]}


def test_schema_exports_are_fresh():
    for name, schema in schemas().items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"{name} missing: run `make schema`"
        assert path.read_text() == render(schema), f"{name} is stale: run `make schema`"


def test_valid_config_passes():
    config, structure = parse_config(mlp(3, "B"))
    assert structure.order == ["x", "h1", "h2", "y"]
    assert structure.depth == 2


def test_unknown_input_names_node_and_field():
    (issue,) = issues_of(edited(lambda c: nodes(c)["h2"].update(inputs=["zz"])))
    assert issue.node == "h2" and issue.field == "inputs" and "'zz'" in issue.message


def test_cycle_names_the_nodes_on_it():
    def make_cycle(c):
        nodes(c)["h1"]["inputs"] = ["x", "h2"]
    (issue,) = issues_of(edited(make_cycle))
    assert "cycle" in issue.message
    assert "h1 -> h2 -> h1" in issue.message or "h2 -> h1 -> h2" in issue.message


def test_self_loop():
    (issue,) = issues_of(edited(lambda c: nodes(c)["h1"].update(inputs=["h1"])))
    assert issue.node == "h1" and "cycle" in issue.message


def test_size_mismatch_names_both_sides():
    def make(c):
        c["graph"]["nodes"].append({"id": "s", "op": "add", "inputs": ["h1", "x"]})
    (issue,) = issues_of(edited(make))
    assert issue.node == "s" and "'h1'" in issue.message and "'x'" in issue.message
    assert "4" in issue.message and "3" in issue.message


def test_weight_shape_mismatch_names_both_sides():
    def make(c):
        c["params"] = {"h2": {"weight": {"h1": [[1.0, 2.0]]}}}
    (issue,) = issues_of(edited(make))
    assert issue.node == "h2" and issue.field == "weight"
    assert "'h1'" in issue.message and "4x4" in issue.message


def test_bad_output():
    (issue,) = issues_of(edited(lambda c: c["graph"].update(output="nope")))
    assert issue.field == "output"
    (issue,) = issues_of(edited(lambda c: c["graph"].update(output="x")))
    assert "input" in issue.message


def test_bad_target_size():
    (issue,) = issues_of(edited(lambda c: c["data"].update(target=[1.0, 2.0, 3.0])))
    assert issue.node == "y" and issue.field == "target" and "2 units" in issue.message


def test_bad_input_data_size():
    (issue,) = issues_of(edited(lambda c: c["data"]["input"].update(x=[1.0])))
    assert issue.node == "x" and "3 units" in issue.message


def test_unsupported_op_and_activation():
    iss = issues_of(edited(lambda c: nodes(c)["h1"].update(op="conv")))
    assert iss[0].node == "h1" and iss[0].field == "op"
    iss = issues_of(edited(lambda c: nodes(c)["h1"].update(activation="gelu")))
    assert iss[0].node == "h1" and iss[0].field == "activation"
    (issue,) = issues_of(edited(lambda c: nodes(c).__setitem__(
        "q", c["graph"]["nodes"].append({"id": "q", "op": "tanh", "inputs": ["h1"],
                                         "activation": "relu"}))))
    assert issue.node == "q" and issue.field == "activation"


def test_unknown_field_and_non_finite_numbers():
    iss = issues_of(edited(lambda c: nodes(c)["h1"].update(colour="red")))
    assert iss[0].node == "h1" and iss[0].field == "colour"
    text = json.dumps(mlp(3, "B")).replace("[", "[NaN, ", 1)  # not even valid for the schema
    assert issues_of(text)
    iss = issues_of(edited(lambda c: c["data"]["input"].update(x=[float("nan"), 0.0, 0.0])))
    assert iss[0].path.startswith("data")


def test_malformed_json_text():
    (issue,) = issues_of('{"graph": ')
    assert "JSON" in issue.message


@pytest.mark.parametrize("limits,needle", [
    (Limits(max_nodes=3), "nodes exceed"),
    (Limits(max_units=3), "units exceed"),
    (Limits(max_params=10), "parameters exceed"),
    (Limits(max_steps=1), "steps exceed"),
])
def test_limits(limits, needle):
    iss = issues_of(mlp(3, "B", rule={"name": "fpa", "steps": 50}), limits)
    assert any(needle in i.message for i in iss)


def test_rule_checks():
    iss = issues_of(edited(lambda c: c.update(rule={"name": "magic"})))
    assert iss[0].path == "rule.name" and "unknown rule" in iss[0].message
    iss = issues_of(edited(lambda c: c.update(rule={"name": "fpa", "gamma": -1})))
    assert iss[0].path == "rule.gamma"
    iss = issues_of(edited(lambda c: c.update(rule={"name": "fpa", "colour": 1})))
    assert iss[0].path == "rule.colour"


def test_dataset_shape_mismatch():
    def make(c):
        c["data"] = {"dataset": "digits"}
    iss = issues_of(edited(make))
    assert any("64 features" in i.message for i in iss)
    assert any("10 classes" in i.message for i in iss)


def test_engine_unchanged_by_invalid_set():
    engine = Engine(mlp(3, "B", rule={"name": "fpa", "steps": 5}))
    before = copy.deepcopy(engine.snapshot())
    with pytest.raises(ConfigInvalid):
        engine.set("rule.gamma", 99)
    with pytest.raises(ConfigInvalid):
        engine.set("graph.output", "x")
    with pytest.raises(ConfigInvalid):
        engine.set("nope.deeper", 1)
    assert engine.snapshot() == before
    engine.set("rule.gamma", 1.0)
    engine.run()
    assert engine.frame["divergence"]["total"]["rel_l2"] < 1e-12


def test_a_setting_change_validates_the_rule_settings_once(monkeypatch):
    """Engine.set checks the whole configuration (rule settings included) and then uses the
    settings that check produced, instead of validating them a second time."""
    engine = Engine(mlp(3, rule={"name": "pc", "gamma": 0.1}))
    settings_cls = engine.rule_cls.Settings
    calls = []
    original = settings_cls.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(settings_cls, "model_validate", classmethod(counting))
    engine.set("rule.gamma", 0.2)
    assert len(calls) == 1
    assert engine.settings.gamma == 0.2
    with pytest.raises(ConfigInvalid):
        engine.set("rule.gamma", -1.0)
    assert engine.settings.gamma == 0.2
