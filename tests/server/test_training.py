"""Training over the websocket (training_runner.py, trainjob.py) against a real uvicorn with
ONE worker, so the training session and a light stepping session share it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from errorwave.training import Trainer
from errorwave.training.configs import mlp
from tests.server.helpers import Client, LiveServer, make_settings

RULE = {"name": "fpa", "steps": 3, "gamma": 1.0, "lr": 0.05}
SHORT = mlp("circles", [8], RULE, samples=120, training={"epochs": 2, "batch_size": 16})
# long enough that it is still running when paused or stopped
LONG = mlp("digits", [32], RULE, samples=2000, training={"epochs": 200, "batch_size": 32})


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(make_settings(tmp_path_factory.mktemp("training"), workers=1,
                                    preload_training=True, max_training_examples=300_000,
                                    training_updates_s=0.1, training_boundary_s=0.2)).start()
    yield live
    live.stop()


def training(messages: list[Any]) -> list[dict[str, Any]]:
    return [m for m in messages if isinstance(m, dict) and m["type"] == "training"]


def loaded(server: LiveServer, config: dict[str, Any]) -> Client:
    c = server.client()
    c.send({"type": "load", "config": config})
    c.until(lambda m: m["type"] == "frame")
    return c


def until_state(c: Client, state: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    return training(c.until(lambda m: m["type"] == "training" and m["state"] == state, timeout))


def test_streamed_rows_are_the_trainers_own(one_worker: LiveServer) -> None:
    with loaded(one_worker, SHORT) as c:
        c.send({"type": "train"})
        msgs = until_state(c, "done", 30)
    assert msgs[0]["state"] == "running" and msgs[0]["examples"] == 0
    rows = [r for m in msgs for r in m["rows"]]
    epochs = [r for m in msgs for r in m["epoch_rows"]]
    want = Trainer(SHORT).run()
    assert rows == want.rows  # the same floats, batch for batch (JSON keeps float64 exactly)
    assert epochs == [{k: v for k, v in e.items() if k != "type"} for e in want.epochs]
    last = msgs[-1]
    assert last["examples"] == last["total"] == 2 * 96 and last["epoch"] == last["epochs"] == 2
    assert last["rate"] > 0
    # circles is 2-D: the decision boundary came along, and with the run's end
    assert last["boundary"] is not None and len(last["boundary"]["z"]) > 0


def test_settings_in_the_message_replace_the_configurations(one_worker: LiveServer) -> None:
    with loaded(one_worker, SHORT) as c:
        c.send({"type": "train", "training": {"epochs": 1, "batch_size": 48, "optimiser": "adam"}})
        msgs = until_state(c, "done", 30)
    rows = [r for m in msgs for r in m["rows"]]
    assert msgs[-1]["total"] == 96 and [r["batch_size"] for r in rows] == [48, 48]
    want = Trainer({**SHORT, "training": {"epochs": 1, "batch_size": 48, "optimiser": "adam"}}).run()
    assert rows == want.rows


def test_pause_resume_stop_answer_promptly_and_a_light_session_keeps_stepping(
        one_worker: LiveServer) -> None:
    with loaded(one_worker, LONG) as c, loaded(one_worker, {"version": 1, **_preset()}) as light:
        c.send({"type": "train"})
        until_state(c, "running")
        progress = training(c.until(lambda m: m["type"] == "training" and m["examples"] > 0))
        assert progress[-1]["total"] == 200 * 1438
        # a light session steps beside it on the same worker
        light.send({"type": "play", "rate": 50, "across_examples": True})
        time.sleep(2.0)
        light.send({"type": "pause"})
        frames = [m for m in light.until(lambda m: m["type"] == "event" and m["kind"] == "paused")
                  if m["type"] == "frame"]
        assert len(frames) >= 20, f"the light session got only {len(frames)} frames in 2 s"

        began = time.monotonic()
        c.send({"type": "train_pause"})
        paused = until_state(c, "paused", 5)[-1]
        assert time.monotonic() - began < 1.0
        assert not training(c.quiet(0.4)), "nothing is trained while paused"

        c.send({"type": "train_resume"})
        resumed = training(c.until(lambda m: m["type"] == "training" and m["examples"] > paused["examples"]))
        assert resumed[0]["state"] == "running"

        began = time.monotonic()
        c.send({"type": "train_stop"})
        stopped = until_state(c, "stopped", 5)[-1]
        assert time.monotonic() - began < 1.0
        assert 0 < stopped["examples"] < stopped["total"]
        assert not training(c.quiet(0.4))


def test_a_run_over_the_examples_cap_is_refused(one_worker: LiveServer) -> None:
    with loaded(one_worker, LONG) as c:
        c.send({"type": "train", "training": {"epochs": 300, "batch_size": 16}})
        err = c.error()
    assert err["code"] == "limit" and "431400 examples" in err["message"]
    assert "cap of 300000" in err["message"]


def test_training_needs_a_dataset(one_worker: LiveServer) -> None:
    with loaded(one_worker, {"version": 1, **_preset()}) as c:
        c.send({"type": "train"})
        err = c.error()
    assert err["code"] == "invalid_config" and err["message"].startswith("cannot train")


def _preset() -> dict[str, Any]:
    from errorwave.presets import get_preset

    config = get_preset("zil-mlp")
    assert config is not None
    return {k: v for k, v in config.items() if k != "version"}
