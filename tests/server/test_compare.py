"""Compare mode over a real websocket: two engines in one session, one clock.

Side b's numbers are checked against a separate single-rule session of rule b, so that the
lockstep cannot hide a mix-up of the sides."""

from __future__ import annotations

import copy
from typing import Any

from errorwave.presets import get_preset
from tests.server.helpers import Client, LiveServer

RULE_A = {"name": "fpa", "gamma": 1.0, "steps": 8, "lr": 0.1}
RULE_B = {"name": "fpa", "gamma": 0.1, "steps": 8, "lr": 0.1}


def config(rule: dict[str, Any], compare: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(get_preset("fpa-chain-gamma1"))
    assert cfg is not None
    cfg["rule"] = rule
    if compare is not None:
        cfg["compare"] = {"rule": compare}
    return cfg


def is_msg(type_: str, **fields: Any) -> Any:
    return lambda m: m["type"] == type_ and all(m.get(k) == v for k, v in fields.items())


def frames(messages: list[Any]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "frame"]


def pairs(messages: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Frames in (a, b) pairs, in order: every side a frame is followed by side b's."""
    fs = frames(messages)
    assert len(fs) % 2 == 0, [(f.get("side"), f["t"]) for f in fs]
    out = list(zip(fs[0::2], fs[1::2], strict=True))
    for a, b in out:
        assert (a["side"], b["side"]) == ("a", "b")
        assert a["t"] == b["t"] and a["revision"] == b["revision"] and a["example"] == b["example"]
    return out


def alone(server: LiveServer, rule: dict[str, Any], examples: int = 0) -> dict[tuple[int, int], Any]:
    """Every frame of a single-rule session of `rule`: {(example, t): frame}."""
    out: dict[tuple[int, int], Any] = {}
    with server.client() as c:
        c.send({"type": "load", "config": config(rule)})
        for example in range(examples + 1):
            if example:
                c.send({"type": "next_example"})
            msgs = c.until(is_msg("frame", t=0, example=example))
            c.send({"type": "run_example"})
            msgs += c.until(is_msg("event", kind="example_done"))
            out.update({(f["example"], f["t"]): f for f in frames(msgs)})
    return out


def same_numbers(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["nodes"] == want["nodes"]
    assert got["divergence"] == want["divergence"]
    assert got["update_norms"] == want["update_norms"]


def test_both_sides_keep_one_clock_and_side_b_is_rule_b(server: LiveServer, client: Client) -> None:
    ref_a, ref_b = alone(server, RULE_A, examples=1), alone(server, RULE_B, examples=1)
    c = client
    c.send({"type": "load", "config": config(RULE_A, RULE_B)})
    msgs = c.until(is_msg("frame", t=0, side="b"))
    snaps = [m for m in msgs if m["type"] == "snapshot"]
    assert [(s["side"], s["rule"]["settings"]["gamma"], s["steps"]) for s in snaps] == \
        [("a", 1.0, 8), ("b", 0.1, 8)]
    assert snaps[0]["config"]["compare"]["rule"]["gamma"] == 0.1  # the permalink carries it
    seen = pairs(msgs)

    c.send({"type": "step", "n": 2})  # step
    seen += pairs(c.until(is_msg("frame", t=2, side="b")))
    c.send({"type": "play", "rate": 200, "across_examples": False})  # play to the end
    msgs = c.until(is_msg("event", kind="paused"))
    assert msgs[-1]["reason"] == "example_done"
    seen += pairs(msgs)
    c.send({"type": "seek", "t": 3})  # seek back: from the server's history, both sides
    back = pairs(c.until(is_msg("frame", t=3, side="b")))
    assert [a["t"] for a, _ in back] == [3]
    seen += back
    c.send({"type": "next_example"})  # next example: both learn, both start the next
    msgs = c.until(is_msg("frame", t=0, side="b", example=1))
    learned = [m for m in msgs if m["type"] == "event" and m["kind"] == "learned"]
    assert [m.get("side") for m in learned] == [None, "b"]
    assert learned[0]["row"]["loss"] != learned[1]["row"]["loss"] or \
        learned[0]["row"]["angle"] != learned[1]["row"]["angle"]
    seen += pairs(msgs)
    c.send({"type": "seek", "t": 5})  # seek forward: steps both
    seen += pairs(c.until(is_msg("frame", t=5, side="b", example=1)))

    assert {(a["example"], a["t"]) for a, _ in seen} == \
        {(0, t) for t in range(9)} | {(1, t) for t in range(6)}
    for a, b in seen:
        key = (a["example"], a["t"])
        same_numbers(a, ref_a[key])
        same_numbers(b, ref_b[key])
        assert b["nodes"] != a["nodes"] or key[1] == 0  # gamma differs: the sides differ
        vs = b["vs_a"]
        assert set(vs["nodes"]) == set(b["divergence"]["nodes"])
        assert set(vs["params"]) == set(b["divergence"]["params"])
    last_a, last_b = seen[-1]
    assert last_b["vs_a"]["total_nodes"]["rel_l2"] > 0


def test_a_rejected_setting_changes_neither_side(server: LiveServer, client: Client) -> None:
    c = client
    c.send({"type": "load", "config": config(RULE_A, RULE_B)})
    c.until(is_msg("frame", t=0, side="b"))
    c.send({"type": "step", "n": 2})
    c.until(is_msg("frame", t=2, side="b"))
    for path in ("compare.rule.gamma", "rule.gamma"):
        c.send({"type": "set", "path": path, "value": -3})
        err = c.error()
        assert err["code"] == "invalid_config" and err["issues"][0]["path"] == path, err
    # nothing moved: the next step is t = 3 of the same revision on both sides
    c.send({"type": "step"})
    msgs = c.until(is_msg("frame", t=3, side="b"))
    assert not [m for m in msgs if m["type"] == "snapshot"]
    ((a, b),) = pairs(msgs)
    assert a["revision"] == b["revision"] == 0
    # an accepted setting of side b restarts the example on both sides, one new revision
    c.send({"type": "set", "path": "compare.rule.gamma", "value": 0.5})
    msgs = c.until(is_msg("frame", t=0, side="b"))
    snaps = [m for m in msgs if m["type"] == "snapshot"]
    assert [(s["side"], s["revision"]) for s in snaps] == [("a", 1), ("b", 1)]
    assert snaps[0]["config"]["compare"]["rule"]["gamma"] == 0.5
    assert snaps[0]["rule"]["settings"]["gamma"] == 1.0 and snaps[1]["rule"]["settings"]["gamma"] == 0.5


def test_compare_on_and_off_at_the_same_t(server: LiveServer, client: Client) -> None:
    """`compare` goes on from here: both sides from side a's learned weights at the same
    example, stepped to the same t; a side whose example ends first holds its numbers."""
    c = client
    zil = {"name": "zil", "lr": 0.1}  # 5 steps on this chain, FPA 8
    c.send({"type": "load", "config": config(zil)})
    c.until(is_msg("frame", t=0))
    c.send({"type": "next_example"})  # learn one example first
    c.until(is_msg("frame", t=0, example=1))
    c.send({"type": "step", "n": 4})
    c.until(is_msg("frame", t=4))
    c.send({"type": "compare", "rule": RULE_A})
    msgs = c.until(is_msg("frame", t=4, side="b"))
    snaps = [s for s in msgs if s["type"] == "snapshot"]
    assert [s["side"] for s in snaps] == ["a", "b"]
    assert snaps[0]["params"] == snaps[1]["params"]  # the same learned weights ...
    assert snaps[0]["example"] == snaps[1]["example"] and snaps[0]["example"]["seen"] == 1
    assert snaps[0]["config"]["compare"]["rule"] == RULE_A
    assert [a["t"] for a, _ in pairs(msgs)] == [0, 1, 2, 3, 4]
    c.send({"type": "run_example"})
    tail = pairs(c.until(is_msg("event", kind="example_done")))
    assert [(a["t"], a.get("held", False), b.get("held", False)) for a, b in tail] == \
        [(5, False, False), (6, True, False), (7, True, False), (8, True, False)]
    assert tail[-1][0]["done"] and tail[-1][1]["done"] and not tail[0][0]["done"]
    assert tail[1][0]["nodes"] == tail[0][0]["nodes"] and tail[1][0]["events"] == []
    c.send({"type": "compare", "rule": None})
    msgs = c.until(is_msg("frame", t=5))  # alone again: Z-IL's 5 steps
    assert all("side" not in m for m in msgs if m["type"] in ("snapshot", "frame"))
    assert [m["type"] for m in msgs].count("snapshot") == 1


def test_outbox_coalesces_whole_pairs() -> None:
    """A slow reader in compare mode gets both sides of the newest step, never half a pair."""
    from errorwave.server.mailbox import Mailbox

    box = Mailbox()
    for t in range(3):
        box.put("frame", f"a{t}")
        box.put("frame:b", f"b{t}")
    assert [(i.kind, i.payload) for i in box.items] == [("frame", "a2"), ("frame:b", "b2")]
    box.items.popleft()  # the sender took a2: b2 must still go out, then the pair of step 3
    box.bytes -= 2
    box.put("frame", "a3")
    box.put("frame:b", "b3")
    assert [i.payload for i in box.items] == ["b2", "a3", "b3"]
    box.put("snapshot:b", "sb")  # side b's snapshot drops side b's frames only
    assert [i.payload for i in box.items] == ["a3", "sb"]
    box.put("snapshot", "sa")  # side a's snapshot starts a new revision for both
    assert [i.payload for i in box.items] == ["sa"]


def test_a_follower_gets_both_sides(server: LiveServer, client: Client) -> None:
    owner = client
    owner.send({"type": "load", "config": config(RULE_A, RULE_B)})
    owner.until(is_msg("frame", t=0, side="b"))
    owner.send({"type": "step", "n": 2})
    owner.until(is_msg("frame", t=2, side="b"))
    owner.send({"type": "share", "title": "compare"})
    code = owner.until(is_msg("event", kind="shared"))[-1]["code"]
    with server.client() as f:
        f.send({"type": "follow", "code": code})
        got = f.until(is_msg("frame", side="b"))
        assert [(m["type"], m.get("side"), m.get("t")) for m in got if m["type"] != "event"] == [
            ("snapshot", "a", None), ("snapshot", "b", None), ("frame", "a", 2), ("frame", "b", 2)]
        owner.send({"type": "step"})
        assert [a["t"] for a, _ in pairs(f.until(is_msg("frame", t=3, side="b")))] == [3]
