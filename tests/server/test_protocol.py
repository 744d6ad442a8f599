"""Unit tests without a server: message parsing, the models against real engine output, the
binary codec, the outbox rules."""

from __future__ import annotations

import json

import pytest

from errorwave.engine import Engine, to_json
from errorwave.presets import get_preset
from errorwave.server import protocol as p
from errorwave.server.binary import decode, encode, layout_of, schema_message
from errorwave.server.mailbox import Mailbox
from tests.engine.builders import mixed_dag
from tests.server.helpers import run_coroutine
from tests.server.test_ws_errors import sqrt_of_negative

VALID = [
    {"type": "hello"}, {"type": "hello", "proto": 1, "binary": True},
    {"type": "load", "preset": "zil-mlp"}, {"type": "load", "config": {"graph": {}}},
    {"type": "step"}, {"type": "step", "n": 5}, {"type": "run_example"},
    {"type": "play", "rate": 12.5, "across_examples": False}, {"type": "pause"},
    {"type": "seek", "t": 3}, {"type": "set", "path": "rule.gamma", "value": 0.5},
    {"type": "set", "path": "graph.output", "value": "y"}, {"type": "reset"},
    {"type": "next_example"},
]


@pytest.mark.parametrize("message", VALID, ids=[json.dumps(m) for m in VALID])
def test_valid_messages_parse(message: dict) -> None:
    assert p.parse_client(json.dumps(message)).type == message["type"]


def test_server_models_describe_real_engine_output() -> None:
    for cfg in (get_preset("dag-skip-fpa"), mixed_dag({"name": "pc", "steps": 3}),
                sqrt_of_negative()):
        e = Engine(cfg)
        p.Snapshot.model_validate_json(to_json(e.snapshot()))
        for frame in [e.frame, *e.run()]:
            p.Frame.model_validate_json(to_json(frame))
        schema = schema_message(layout_of(e.frame), e.revision, e.examples_seen)
        p.Schema.model_validate(schema)


def test_binary_roundtrip_keeps_nan_as_null() -> None:
    e = Engine(sqrt_of_negative())
    frame = json.loads(to_json(e.frame))
    schema = schema_message(layout_of(frame), 0, 0)
    data = encode(frame)
    assert data[:4] == b"EWF1" and (len(data) % 4 == 0)
    back = decode(data, schema)
    assert back["nodes"]["r"]["value"][1] is None
    assert back["divergence"] == frame["divergence"] and back["events"] == frame["events"]
    assert back["nodes"].keys() == frame["nodes"].keys()


def test_outbox_rules() -> None:
    async def go() -> None:
        box = Mailbox(max_pending=3)
        box.put("frame", "f1")
        box.put("frame", "f2")  # replaces f1
        box.put("event", "e1")
        box.put("frame", "f3")  # after an event: kept
        assert [i.payload for i in box.items] == ["f2", "e1", "f3"]
        box.put("snapshot", "s1")  # drops the stale frames
        assert [i.payload for i in box.items] == ["e1", "s1"]
        for k in range(5):
            box.put("error", f"x{k}")
        assert len(box) == 3 and box.dropped >= 4
        item = await box.get()
        box.putback(item)
        assert (await box.get()).payload == "e1"
        box.put("frame", "f4")
        box.putback(type(item)("frame", "old"))  # superseded by f4: dropped
        assert [i.payload for i in box.items][-1] == "f4" and "old" not in [
            i.payload for i in box.items]

    run_coroutine(go())


def test_set_values_must_be_finite() -> None:
    with pytest.raises(p.BadMessage):
        p.parse_client('{"type": "set", "path": "rule.lr", "value": [1, NaN]}')
    with pytest.raises(p.BadMessage):
        p.parse_client('{"type": "load", "config": {"a": Infinity}}')
