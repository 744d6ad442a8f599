"""NaN/Inf is an event naming where it started, never an exception; same config, same bytes."""

from __future__ import annotations

from errorwave import Engine, to_json
from tests.engine.builders import mixed_dag, mlp


def sqrt_of_negative():
    return {"graph": {"nodes": [
        {"id": "x", "op": "input", "size": 2},
        {"id": "h", "op": "linear", "inputs": ["x"], "size": 2},
        {"id": "r", "op": "sqrt", "inputs": ["h"], "label": "root"},
        {"id": "y", "op": "linear", "inputs": ["r"], "size": 1}], "output": "y"},
        "params": {"h": {"weight": {"x": [[1.0, 0.0], [0.0, 1.0]]}, "bias": [0.0, 0.0]}},
        "data": {"input": {"x": [1.0, -1.0]}, "target": [0.0]}, "rule": {"name": "pc"}}


def test_nan_in_the_forward_pass_is_an_event_at_its_node():
    engine = Engine(sqrt_of_negative())
    frame = engine.frame
    (event,) = [e for e in frame["events"] if e["kind"] == "diverged"]
    assert event["node"] == "r" and event["t"] == 0
    assert engine.halted == {"node": "r", "field": "value", "t": 0, "kind": "diverged"}
    assert engine.step() is None and engine.next_example() is None
    to_json(frame)  # still valid JSON: NaN travels as null
    assert frame["nodes"]["r"]["value"][1] is None


def test_blow_up_during_inference_pauses_with_its_origin():
    cfg = mlp(3, "B", seed=0, act="tanh", rule={"name": "pc", "gamma": 2.0, "steps": 3000,
                                                   "output_variance": 1e-3})
    engine = Engine(cfg)
    frames = engine.run()
    assert engine.halted is not None and engine.t < 3000
    last = frames[-1]
    # A runaway is caught while still finite (unstable), or at the first NaN/Inf (diverged).
    kind = engine.halted["kind"]
    assert kind in ("unstable", "diverged")
    assert any(e["kind"] == kind and e["node"] == engine.halted["node"] for e in last["events"])
    to_json(last)


def test_same_config_gives_byte_identical_frames():
    for cfg in (mixed_dag({"name": "fpa", "steps": 20}), mlp(4, "A", rule={"name": "pc", "steps": 20}),
                {**mlp(3, "B", n_in=2, n_out=1), "data": {"dataset": "spirals", "index": 5}}):
        runs = []
        for _ in range(2):
            engine = Engine(cfg)
            out = [to_json(engine.snapshot()), to_json(engine.frame)]
            out += [to_json(f) for f in engine.run()]
            engine.next_example()
            out += [to_json(engine.frame)] + [to_json(f) for f in engine.run()]
            runs.append("\n".join(out))
        assert runs[0] == runs[1]
