"""Every kind of bad input gets an `error {code, message}`; the socket stays open and the
session stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from errorwave.presets import get_preset
from errorwave.rules import registry
from errorwave.validation import ConfigInvalid, parse_config
from tests.engine.builders import mixed_dag, mlp, skip_dag
from tests.server.helpers import Client, LiveServer, frames_of

SMALL = "dag-skip-fpa"


def still_usable(c: Client) -> None:
    """The socket is open and the session answers a valid request."""
    c.send({"type": "load", "preset": SMALL})
    msgs = c.until(lambda m: isinstance(m, dict) and m["type"] == "frame")
    assert msgs[-1]["t"] == 0


def chain(n: int = 3, size: int = 2) -> dict[str, Any]:
    return mlp(n, "B", width=size, rule={"name": "pc", "steps": 4})


def sqrt_of_negative() -> dict[str, Any]:
    return {"graph": {"nodes": [
        {"id": "x", "op": "input", "size": 2},
        {"id": "h", "op": "linear", "inputs": ["x"], "size": 2},
        {"id": "r", "op": "sqrt", "inputs": ["h"]},
        {"id": "y", "op": "linear", "inputs": ["r"], "size": 1}], "output": "y"},
        "params": {"h": {"weight": {"x": [[1.0, 0.0], [0.0, 1.0]]}, "bias": [0.0, 0.0]}},
        "data": {"input": {"x": [1.0, -1.0]}, "target": [0.0]}, "rule": {"name": "pc"}}


BAD_MESSAGES = [
    ("not json", "{this is not json", "bad_json"),
    ("empty", "", "bad_json"),
    ("not an object", "[1, 2, 3]", "bad_message"),
    ("no type", json.dumps({"n": 1}), "bad_message"),
    ("unknown type", json.dumps({"type": "explode"}), "bad_message"),
    ("extra field", json.dumps({"type": "step", "n": 1, "sneaky": True}), "bad_message"),
    ("wrong field type", json.dumps({"type": "step", "n": "many"}), "bad_message"),
    ("zero steps", json.dumps({"type": "step", "n": 0}), "bad_message"),
    ("negative rate", json.dumps({"type": "play", "rate": -5}), "bad_message"),
    ("nan rate", '{"type": "play", "rate": NaN}', "bad_"),
    ("nan value", '{"type": "set", "path": "rule.lr", "value": NaN}', "bad_"),
    ("infinite value", '{"type": "set", "path": "rule.lr", "value": 1e999}', "bad_"),
    ("bad path", json.dumps({"type": "set", "path": "../etc", "value": 1}), "bad_message"),
    ("load both", json.dumps({"type": "load", "preset": SMALL, "config": {}}), "bad_message"),
    ("load neither", json.dumps({"type": "load"}), "bad_message"),
    ("wrong proto", json.dumps({"type": "hello", "proto": 2}), "bad_message"),
]


@pytest.mark.parametrize(("name", "text", "code"), BAD_MESSAGES, ids=[b[0] for b in BAD_MESSAGES])
def test_bad_messages(client: Client, name: str, text: str, code: str) -> None:
    client.send(text)
    err = client.error()
    assert err["code"].startswith(code) and err["message"]
    still_usable(client)


def test_binary_and_oversized_messages_get_errors(server: LiveServer, client: Client) -> None:
    client.ws.send(b"\x00\x01binary")
    assert client.error()["code"] == "bad_message"
    big = json.dumps({"type": "load", "config": {"title": "x" * (server.settings.max_message_bytes)}})
    client.send(big)
    err = client.error()
    assert err["code"] == "too_large" and str(server.settings.max_message_bytes) in err["message"]
    still_usable(client)


def test_message_over_the_transport_cap_closes_with_1009(server: LiveServer) -> None:
    c = server.client()
    c.send("x" * (server.settings.ws_max_bytes + 10))
    with pytest.raises(ConnectionClosed) as info:
        c.quiet(2.0)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    with server.client() as other:  # the server keeps serving
        still_usable(other)


def test_step_before_load(client: Client) -> None:
    client.send({"type": "step"})
    assert client.error()["code"] == "not_loaded"
    client.send({"type": "play", "rate": 5})
    assert client.error()["code"] == "not_loaded"
    still_usable(client)


def test_unknown_preset(client: Client) -> None:
    client.send({"type": "load", "preset": "no-such-preset"})
    err = client.error()
    assert err["code"] == "unknown_preset" and "no-such-preset" in err["message"]
    client.send({"type": "load", "preset": "../../etc/passwd"})
    assert client.error()["code"] == "unknown_preset"
    still_usable(client)


def test_schema_invalid_config_names_node_and_field(client: Client) -> None:
    config = chain()
    config["graph"]["nodes"][1]["size"] = "wide"
    config["graph"]["nodes"][2]["activation"] = "wobble"
    client.send({"type": "load", "config": config})
    err = client.error()
    assert err["code"] == "invalid_config"
    by_node = {i["node"]: i for i in err["issues"]}
    assert by_node["h1"]["field"] == "size" and by_node["h2"]["field"] == "activation"
    assert all(i["path"].startswith("graph.nodes[") for i in err["issues"])
    still_usable(client)


def test_cycle(client: Client) -> None:
    config = chain()
    config["graph"]["nodes"][1]["inputs"] = ["x", "h2"]
    client.send({"type": "load", "config": config})
    err = client.error()
    assert err["code"] == "invalid_config" and "cycle" in err["message"]
    assert err["issues"][0]["field"] == "inputs"
    still_usable(client)


def test_oversized_graphs(server: LiveServer, client: Client) -> None:
    lim = server.settings
    wide = chain(size=lim.max_units + 1)
    client.send({"type": "load", "config": wide})
    err = client.error()
    assert err["code"] == "too_large" and str(lim.max_units) in err["message"]
    long = {"graph": {"nodes": [{"id": "x", "op": "input", "size": 1}] + [
        {"id": f"n{i}", "op": "tanh", "inputs": ["x" if i == 0 else f"n{i - 1}"]}
        for i in range(lim.max_nodes + 1)], "output": f"n{lim.max_nodes}"},
        "data": {"input": {"x": [1.0]}, "target": [0.0]}, "rule": {"name": "backprop"}}
    client.send({"type": "load", "config": long})
    assert client.error()["code"] == "too_large"
    steps = chain()
    steps["rule"]["steps"] = lim.max_steps + 1
    client.send({"type": "load", "config": steps})
    assert client.error()["code"] == "too_large"
    still_usable(client)


def test_unsupported_graph(client: Client) -> None:
    for name in sorted(registry):
        for cfg in (skip_dag({"name": name}), mixed_dag({"name": name})):
            try:
                parse_config(cfg)
            except ConfigInvalid as err:
                if "does not support" in str(err):
                    client.send({"type": "load", "config": cfg})
                    e = client.error()
                    assert e["code"] == "unsupported_graph" and name in e["message"]
                    still_usable(client)
                    return
    pytest.skip("every rule supports these graphs")


@pytest.mark.parametrize("where", ["forward", "inference"])
def test_nan_blow_up_pauses_with_its_origin(client: Client, where: str) -> None:
    if where == "forward":
        config, node = sqrt_of_negative(), "r"
    else:
        config = mlp(3, "B", seed=0, act="tanh", rule={"name": "pc", "gamma": 2.0, "steps": 2000,
                                                       "output_variance": 1e-3})
        node = None
    client.send({"type": "load", "config": config})
    msgs = client.until(lambda m: m["type"] == ("error" if where == "forward" else "frame"))
    halts = ("diverged", "unstable")  # a NaN, or finite numbers far past the example's scale
    if where == "inference":
        assert all(e["kind"] not in halts for e in msgs[-1]["events"])
        client.send({"type": "play", "rate": 200})
        msgs = client.until(lambda m: m["type"] == "event" and m["kind"] == "paused", timeout=30)
        assert msgs[-1]["reason"] in halts
    errors = [m for m in msgs if m["type"] == "error"]
    frames = frames_of(msgs)
    diverged = [e for e in frames[-1]["events"] if e["kind"] in halts]
    assert len(diverged) == 1 and (node is None or diverged[0]["node"] == node)
    assert errors and errors[-1]["code"] == "diverged" and diverged[0]["node"] in errors[-1]["message"]
    client.send({"type": "step"})
    assert client.error()["code"] == "diverged"
    client.send({"type": "next_example"})
    assert client.error()["code"] == "diverged"
    still_usable(client)


def test_bad_set_leaves_the_session_unchanged(client: Client) -> None:
    still_usable(client)
    for path, value in [("rule.lr", -1.0), ("rule.nonsense", 1), ("graph.nodes.x", 1),
                        ("nothing.here", 2), ("rule.name", "no-such-rule")]:
        client.send({"type": "set", "path": path, "value": value})
        err = client.error()
        assert err["code"] == "invalid_config", (path, err)
    client.send({"type": "step"})
    frame = client.until(lambda m: m["type"] == "frame")[-1]
    assert frame["t"] == 1 and frame["revision"] == 0


def test_seek_past_the_end(client: Client) -> None:
    still_usable(client)
    client.send({"type": "seek", "t": 999})
    assert client.error()["code"] == "bad_message"
    client.send({"type": "seek", "t": 1})
    assert client.until(lambda m: m["type"] == "frame")[-1]["t"] == 1


def test_message_flood_is_rate_limited(server: LiveServer, client: Client) -> None:
    n = server.settings.message_burst + 60
    for _ in range(n):
        client.send({"type": "pause"})
    got = client.quiet(1.0)
    codes = [m.get("code") for m in got if m["type"] == "error"]
    assert "limit" in codes
    assert len(got) <= n
    still_usable(client)


def test_foreign_origin_is_refused(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(server.ws_url, origin="http://evil.example", open_timeout=5)  # type: ignore[arg-type]
    assert info.value.response.status_code == 403
    for origin in ("http://allowed.example", f"http://127.0.0.1:{server.port}"):
        with server.client(origin=origin) as c:
            still_usable(c)


def test_presets_load_over_the_socket(client: Client) -> None:
    preset = get_preset(SMALL)
    assert preset is not None
    client.send({"type": "load", "config": preset})
    assert client.until(lambda m: m["type"] == "frame")[-1]["t"] == 0
