"""Property-based tests over random graphs (hypothesis): no graph that passes validation
crashes a rule or shows a wrong number.

For every rule: running to T gives finite frames, or a `diverged`/`unstable` halt, never
an exception; a graph the rule cannot run is refused at validation with a reason that
names a node. Exactness (float64): Z-IL equals backprop where every path to the output
has one length; Fa-Z-IL makes Z-IL's updates everywhere; FPA with gamma 1 and T = depth
equals backprop on any DAG.

CI runs the "ci" profile; `make test-deep` runs many more examples."""

from __future__ import annotations

import copy
import json
import math
import os
from typing import Any

from hypothesis import HealthCheck, given, settings

from errorwave import Engine
from errorwave.issues import ConfigInvalid
from errorwave.rules import registry
from errorwave.validation import parse_config
from tests.engine.random_graphs import configs, equal_path_lengths

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("ERRORWAVE_HYPOTHESIS_PROFILE", "ci"))

# Few steps keep an example cheap; the exactness tests use the rules' own defaults.
SHORT = {"steps": 12, "free_steps": 8, "nudged_steps": 4, "trials": 6, "prediction_steps": None}
RUN_COUNT = {"graphs": 0, "runs": 0, "refused": 0, "halted": 0}


def with_rule(config: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    out["rule"] = rule
    return out


def short_rule(name: str) -> dict[str, Any]:
    fields = registry[name].Settings.model_fields
    return {"name": name, **{k: v for k, v in SHORT.items() if k in fields and v is not None}}


def numbers(frame: dict[str, Any]) -> list[Any]:
    """Every number a frame shows of the vertices, plus its energy."""
    out = [frame["energy"]]
    for node in frame["nodes"].values():
        out += node["value"] + node["prediction"] + node["error"]
    return out


def frames_are_finite_or_halted(engine: Engine, frames: list[dict[str, Any]]) -> None:
    halted = engine.halted
    for frame in frames:
        json.dumps(frame, allow_nan=False)  # NaN/Inf never reach a frame: they travel as null
        if halted is None or frame["t"] < halted["t"]:
            assert all(x is not None and math.isfinite(x) for x in numbers(frame)), frame["t"]
    if halted is not None:
        kinds = {e["kind"] for e in frames[-1]["events"]}
        assert halted["kind"] in kinds and halted["kind"] in ("diverged", "unstable")
        RUN_COUNT["halted"] += 1


@given(configs())
def test_every_rule_runs_or_refuses_with_a_reason(config):
    RUN_COUNT["graphs"] += 1
    for name in sorted(registry):
        cfg = with_rule(config, short_rule(name))
        try:
            parse_config(cfg)
        except ConfigInvalid as err:
            assert err.codes == {"unsupported_graph"}, err
            named = [n["id"] for n in cfg["graph"]["nodes"] if f"'{n['id']}'" in str(err)]
            assert named, f"the reason names no node: {err}"
            RUN_COUNT["refused"] += 1
            continue
        engine = Engine(cfg)
        frames = [engine.frame] + engine.run()
        RUN_COUNT["runs"] += 1
        frames_are_finite_or_halted(engine, frames)


def final(config: dict[str, Any], rule: dict[str, Any]) -> Engine | None:
    try:
        engine = Engine(with_rule(config, rule))
    except ConfigInvalid as err:
        assert err.codes == {"unsupported_graph"}, err
        return None
    engine.run()
    return engine


def finite_example(engine: Engine) -> bool:
    """The exactness claims are about finite numbers of a sane size."""
    return engine.halted is None and math.isfinite(engine.loss) and engine.loss < 1e6


@given(configs(dtype="float64"))
def test_exactness_properties(config):
    bp = final(config, {"name": "backprop", "lr": 0.1})
    assert bp is not None
    if not finite_example(bp):
        return
    assert bp.frame["divergence"]["total"]["rel_l2"] == 0.0 or \
        bp.frame["divergence"]["total"]["rel_l2"] < 1e-12
    zil = final(config, {"name": "zil", "lr": 0.1})
    fazil = final(config, {"name": "fazil", "lr": 0.1})
    assert (zil is None) == (fazil is None)
    if zil is not None and fazil is not None and zil.halted is None:
        assert fazil.frame["updates"] == zil.frame["updates"]
        if equal_path_lengths(zil.structure):
            assert _rel(zil) < 1e-9, zil.frame["divergence"]["params"]
    fpa = final(config, {"name": "fpa", "lr": 0.1, "gamma": 1.0, "steps": bp.structure.depth})
    if fpa is not None and fpa.halted is None:
        assert _rel(fpa) < 1e-9, fpa.frame["divergence"]["params"]


def _rel(engine: Engine) -> float:
    """Relative L2 of all updates against backprop's; 0 when both are 0."""
    total = engine.frame["divergence"]["total"]
    return 0.0 if total["rel_l2"] is None else total["rel_l2"]


def test_report_counts(capsys):
    # Printed with -s / in the CI log's durations section: how much the properties covered.
    with capsys.disabled():
        print(f"\nproperty tests: {RUN_COUNT}")
    assert True
