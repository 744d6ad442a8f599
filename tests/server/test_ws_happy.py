"""The happy path over a real websocket, checked byte for byte against an in-process Engine."""

from __future__ import annotations

import json
import math
from typing import Any

from errorwave.engine import Engine, to_json
from errorwave.presets import get_preset
from errorwave.server.binary import decode
from tests.server.helpers import Client, LiveServer

PRESET = "fpa-chain-gamma1"


def texts_until(c: Client, stop: Any, timeout: float = 10.0) -> list[str]:
    """Raw JSON texts up to the first one whose parsed message satisfies `stop`."""
    out = []
    while True:
        raw = c.recv_raw(timeout)
        assert isinstance(raw, str)
        out.append(raw)
        if stop(json.loads(raw)):
            return out


def of_type(texts: list[str], kind: str) -> list[str]:
    return [t for t in texts if json.loads(t)["type"] == kind]


def is_frame_at(t: int) -> Any:
    return lambda m: m["type"] == "frame" and m["t"] == t


def same(text: str, expected: dict[str, Any], watched: tuple[str, ...] = ()) -> bool:
    """A message as received equals the engine's own (a frame: its lean form, with the full
    updates of the watched nodes and the norms of all)."""
    got, full = json.loads(text), json.loads(to_json(expected))
    if full["type"] != "frame":
        assert got == full
        return True
    assert got.pop("lean") is True
    norms = got.pop("update_norms")
    updates = full.pop("updates")
    assert got.pop("updates") == {n: updates[n] for n in watched}
    assert got == full
    for nid, up in updates.items():
        numbers = [x for w in up["weight"].values() for row in w for x in row] + (up["bias"] or [])
        assert math.isclose(norms[nid], math.sqrt(sum(x * x for x in numbers)),
                            rel_tol=1e-9, abs_tol=1e-300)
    return True


def all_same(texts: list[str], expected: list[dict[str, Any]],
             watched: tuple[str, ...] = ()) -> bool:
    assert len(texts) == len(expected)
    return all(same(t, e, watched) for t, e in zip(texts, expected, strict=True))


def test_load_step_play_pause_seek_set_reset_next_match_the_engine(server: LiveServer,
                                                                   client: Client) -> None:
    engine = Engine(get_preset(PRESET), limits=server.settings.engine_limits())
    c = client
    assert c.welcome["proto"] == 1 and c.welcome["limits"]["max_nodes"] == server.settings.max_nodes
    assert {r["name"] for r in c.welcome["rules"]} >= {"backprop", "pc", "zil"}

    # load a preset: snapshot, then frame t=0
    c.send({"type": "load", "preset": PRESET})
    snap, frame0 = texts_until(c, is_frame_at(0))
    assert same(snap, engine.snapshot()) and same(frame0, engine.frame)
    frames = [engine.frame]  # the trajectory, to check seeks against

    # step 1, then step 2
    c.send({"type": "step", "n": 1})
    frames.append(engine.step())
    assert all_same(texts_until(c, is_frame_at(1)), [frames[-1]])
    c.send({"type": "step"})
    c.send({"type": "step", "n": 2})
    frames += engine.run(until=4)
    assert all_same(texts_until(c, is_frame_at(4)), frames[2:])

    # watch a node: its updates at every step so far, then in every frame
    watched = ("h2",)
    c.send({"type": "watch", "nodes": list(watched)})
    upd = c.recv()
    assert upd["type"] == "updates" and upd["nodes"] == ["h2"]
    assert upd["steps"] == {str(f["t"]): {"h2": json.loads(to_json(f))["updates"]["h2"]}
                            for f in frames}

    # play to the end of the example without going on: frames, example_done, paused
    c.send({"type": "play", "rate": 100, "across_examples": False})
    got = texts_until(c, lambda m: m["type"] == "event" and m["kind"] == "paused")
    assert all_same(of_type(got, "frame"), engine.run(), watched)
    kinds = [(m["type"], m.get("kind")) for m in map(json.loads, got)]
    assert kinds[0] == ("event", "playing") and ("event", "example_done") in kinds
    assert json.loads(got[-1])["reason"] == "example_done"

    # seek back: served from the server's history (re-encoded with the watched updates)
    c.send({"type": "seek", "t": 2})
    assert all_same(texts_until(c, is_frame_at(2)), [frames[2]], watched)
    c.send({"type": "watch", "nodes": []})
    assert c.recv()["type"] == "updates"

    # next example: learned row, new snapshot, frame 0
    c.send({"type": "next_example"})
    got = texts_until(c, is_frame_at(0))
    expected_snapshot = engine.next_example()
    assert json.loads(got[0])["kind"] == "learned"
    assert json.loads(got[0])["row"] == json.loads(to_json(engine.history[-1]))
    assert all_same(got[1:], [expected_snapshot, engine.frame])

    # seek forward steps the server
    c.send({"type": "seek", "t": 3})
    assert all_same(texts_until(c, is_frame_at(3)), engine.run(until=3))

    # set a rule setting: new revision, same example restarted
    c.send({"type": "set", "path": "rule.gamma", "value": 0.5})
    got = texts_until(c, is_frame_at(0))
    assert all_same(got, [engine.set("rule.gamma", 0.5), engine.frame])
    assert json.loads(got[0])["revision"] == 1

    # run the whole example
    c.send({"type": "run_example"})
    got = texts_until(c, lambda m: m["type"] == "event" and m["kind"] == "example_done")
    assert all_same(of_type(got, "frame"), engine.run())

    # reset: back to the initial parameters, next revision
    c.send({"type": "reset"})
    got = texts_until(c, is_frame_at(0))
    assert all_same(got, [engine.reset(), engine.frame])

    # play across examples, then pause: every frame matches the engine followed along
    c.send({"type": "play", "rate": 200})
    got = texts_until(c, lambda m: m["type"] == "snapshot")
    got += texts_until(c, is_frame_at(2))
    c.send({"type": "pause"})
    got += texts_until(c, lambda m: m["type"] == "event" and m["kind"] == "paused")
    follow_and_compare(engine, got)
    assert json.loads(got[-1])["reason"] == "pause"


def follow_and_compare(engine: Engine, texts: list[str]) -> None:
    """Advance `engine` alongside the messages and compare every snapshot and frame."""
    for text in texts:
        msg = json.loads(text)
        if msg["type"] == "snapshot":
            assert same(text, engine.next_example())
        elif msg["type"] == "frame":
            if msg["t"] > 0:
                engine.run(until=msg["t"] - 1)
                assert same(text, engine.step())
            else:
                assert same(text, engine.frame)


def test_inline_config_and_binary_frames(server: LiveServer, client: Client) -> None:
    config = get_preset("dag-skip-fpa")
    engine = Engine(config, limits=server.settings.engine_limits())
    c = client
    c.send({"type": "hello", "proto": 1, "binary": True})
    assert c.recv()["binary"] is True
    c.send({"type": "load", "config": config})
    snap = c.recv()
    schema = c.recv()
    assert snap["type"] == "snapshot" and schema["type"] == "schema"
    assert schema["revision"] == snap["revision"]
    data = c.recv()
    assert isinstance(data, bytes)
    c.send({"type": "step", "n": 1})
    steps = [c.recv()]
    c.send({"type": "watch", "nodes": ["h2"]})
    assert c.recv()["type"] == "updates"
    schema = c.recv()
    assert schema["type"] == "schema" and any(col["path"][0] == "updates" for col in schema["columns"])
    c.send({"type": "step", "n": 1})
    steps.append(c.recv())
    schemas = [None, None, schema]
    expected_frames = [engine.frame, *engine.run(until=2)]
    first_schema = {**schema, "columns": [col for col in schema["columns"] if col["path"][0] == "nodes"]}
    for raw, expected, sch in zip([data, *steps], expected_frames, schemas, strict=True):
        got = decode(raw, sch or first_schema)
        assert got.pop("lean") is True and set(got.pop("update_norms")) == set(expected["updates"])
        assert len(raw) < len(to_json(expected))
        assert {k: v for k, v in got.items() if k not in ("nodes", "updates")} == {
            k: v for k, v in json.loads(to_json(expected)).items() if k not in ("nodes", "updates")}
        assert set(got["updates"]) == ({"h2"} if sch else set())
        expected = {**expected, "updates": {n: expected["updates"][n] for n in got["updates"]}}
        for nid, st in expected["nodes"].items():
            for f in ("value", "prediction", "error"):
                for a, b in zip(got["nodes"][nid][f], st[f], strict=True):
                    assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
        for nid, up in expected["updates"].items():
            for src, w in up["weight"].items():
                flat_got = [x for row in got["updates"][nid]["weight"][src] for x in row]
                flat_exp = [x for row in w for x in row]
                assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
                           for a, b in zip(flat_got, flat_exp, strict=True))
    # back to JSON: the snapshot and the latest frame again, as text
    c.send({"type": "hello", "binary": False})
    msgs = c.until(lambda m: isinstance(m, dict) and m["type"] == "frame")
    assert same(json.dumps(msgs[-1]), engine.frame, ("h2",))
