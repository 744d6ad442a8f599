"""Client messages to runner commands: one handler table, keyed by message type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from errorwave.server import protocol as p
from errorwave.server import rpc
from errorwave.server.runner import Runner
from errorwave.server.side import SocketSide
from errorwave.server.training_runner import TrainingRun

Handler = Callable[[Any], Awaitable[None]]


class Dispatcher:
    def __init__(self, runner: Runner, side: SocketSide, welcome: Callable[[], dict[str, Any]]):
        self.runner = runner
        self.side = side
        self.welcome = welcome
        r = runner
        self.training = t = TrainingRun(runner)
        # messages that work before anything is loaded
        self.always: dict[type[BaseModel], Handler] = {
            p.Hello: self.hello,
            p.Load: self.load,
            p.Pause: lambda m: r.pause(),
        }
        # messages that need a loaded engine
        self.loaded: dict[type[BaseModel], Handler] = {
            p.Step: lambda m: r.steps(m.n),
            p.RunExample: lambda m: r.steps(None),
            p.Play: lambda m: r.play(m.rate, m.across_examples),
            p.Seek: lambda m: r.seek(m.t),
            p.Set: lambda m: r.rebuild(r.req(rpc.SetField, path=m.path, value=m.value)),
            p.Reset: lambda m: r.rebuild(r.req(rpc.Reset)),
            p.NextExample: lambda m: r.next_example(),
            p.Watch: lambda m: r.watch(m.nodes),
            p.CompareMode: lambda m: r.compare(None if m.rule is None else m.rule.model_dump()),
            p.Train: lambda m: t.start(None if m.training is None else m.training.model_dump()),
            p.TrainPause: lambda m: _now(t.pause),
            p.TrainResume: lambda m: _now(t.resume),
            p.TrainStop: lambda m: t.stop(),
        }

    async def __call__(self, message: BaseModel) -> None:
        handler = self.always.get(type(message))
        if handler is None:
            if not self.runner.loaded:
                self.side.put_error("not_loaded", "load a configuration or a preset first")
                return
            handler = self.loaded[type(message)]
        await handler(message)

    async def load(self, m: p.Load) -> None:
        await self.training.stop()  # its curves belong to the configuration being replaced
        await self.runner.load(m.config, m.preset)

    async def hello(self, m: p.Hello) -> None:
        changed = m.binary != self.side.binary
        self.side.binary = m.binary
        self.side.put_message(self.welcome())
        if changed:
            await self.runner.resend()


async def _now(action: Callable[[], None]) -> None:
    action()
