"""The guided tours tell the truth: every number a stop's caption names holds in the engine
at that stop (its example, step, node and compared rule)."""

from __future__ import annotations

import pytest

from errorwave.config import Config
from errorwave.engine import Engine
from errorwave.presets import get_preset, list_presets
from errorwave.tours import Reading, readings, side_config, value
from errorwave.validation import parse_config

TOURED = ["zil-mlp", "dag-skip-fpa", "fpa-chain-gamma1", "pc-variance-1", "zoo-fa-xor"]


class Walker:
    """One engine per side configuration, walked forward through examples and steps (a
    tour's stops are checked in order, so a long tour costs one pass, not one per stop)."""

    def __init__(self) -> None:
        self.engines: dict[str, Engine] = {}

    def frame(self, raw: dict, example: int, t: int) -> dict:
        key = repr(sorted(raw.items()))
        engine = self.engines.get(key)
        if engine is None or engine.examples_seen > example or (engine.examples_seen == example
                                                                 and engine.t > t):
            engine = self.engines[key] = Engine(raw)
        while engine.examples_seen < example:
            assert engine.next_example() is not None, "the example diverged on the way to the stop"
        assert t <= engine.steps, f"stop at t = {t} beyond the example's {engine.steps} steps"
        engine.run(until=t)
        assert engine.t == t
        return engine.frame


def test_the_five_tours_are_shipped():
    toured = sorted(p["id"] for p in list_presets() if get_preset(p["id"]).get("tour"))
    assert toured == sorted(TOURED)


@pytest.mark.parametrize("preset", TOURED)
def test_every_caption_number_is_true(preset: str, monkeypatch: pytest.MonkeyPatch):
    # the decision boundary drawn after each example is a view, not learning state: skipping
    # it makes walking the feedback-alignment tour's 200 examples three times cheaper
    monkeypatch.setattr("errorwave.engine.decision_boundary", lambda *args: None)
    config, structure = parse_config(get_preset(preset))
    assert config.tour is not None and len(config.tour) >= 3
    walker = Walker()
    for k, stop in enumerate(config.tour):
        found = readings(stop.caption)
        assert found, f"stop {k} names no number to read: {stop.caption!r}"
        if stop.node is not None:
            assert stop.node in structure.order, f"stop {k} selects unknown node {stop.node}"
        for reading in found:
            assert reading.node in structure.order, f"stop {k} reads unknown node {reading.node}"
            frame = walker.frame(side_config(config, stop, reading.side), stop.example, stop.t)
            got = value(frame, reading)
            assert reading.holds(got), (f"{preset} stop {k}: the caption says {reading}, "
                                        f"the engine gives {got!r}")


def test_compared_rules_are_valid_and_reach_the_stop():
    for preset in TOURED:
        config = Config.model_validate(get_preset(preset))
        for stop in config.tour or []:
            # compare mode starts side b from side a's weights at the current example; before
            # any learning that is the configuration's own start, which is what side_config runs
            assert stop.compare is None or stop.example == 0
            for side in ("a", "b") if stop.compare is not None else ("a",):
                assert Engine(side_config(config, stop, side)).steps >= stop.t


def test_reading_syntax_and_checks():
    [a, b] = readings("Read h1's update rel L2 < 1e-12; side b: h-2's error angle = 134°.")
    assert (a.side, a.node, a.signal, a.metric, a.op, a.number) == ("a", "h1", "update", "rel L2", "<",
                                                                     "1e-12")
    assert (b.side, b.node, b.metric, b.number) == ("b", "h-2", "angle", "134")
    assert a.holds(1.6e-16) and not a.holds(2e-12) and not a.holds(None)
    assert b.holds(133.6) and b.holds(134.49) and not b.holds(134.6)
    eq = Reading("a", "h", "update", "rel L2", "=", "0.0204")
    assert eq.holds(0.02043) and not eq.holds(0.02051)
    assert Reading("a", "h", "error", "rel L2", "=", "1.5e-3").holds(1.54e-3)
    assert not Reading("a", "h", "error", "rel L2", "=", "1.5e-3").holds(1.56e-3)
    assert readings("no number here") == []


def test_angle_and_missing_values():
    frame = {"divergence": {"nodes": {"h": {"cosine": 0.0, "rel_l2": 1.0}},
                            "params": {"h": {"cosine": None, "rel_l2": None}}}}
    assert value(frame, Reading("a", "h", "error", "angle", "=", "90")) == pytest.approx(90.0)
    assert value(frame, Reading("a", "h", "update", "angle", "=", "90")) is None
    assert value(frame, Reading("a", "x", "update", "rel L2", "=", "0")) is None
