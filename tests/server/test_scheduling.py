"""Fair CPU scheduling in a worker (pool._Worker), without processes: a session that used
more CPU waits behind one that used less; a newcomer gets no credit for its idle time; a
debt weighs at most `max_lead` and is forgiven by rest (a costly load, then a student's
clicks every few seconds); and no request waits more than max_lead behind later arrivals."""

from __future__ import annotations

import asyncio

from errorwave.server import rpc
from errorwave.server.pool import _Worker
from tests.server.helpers import run_coroutine


class FakeWorker(_Worker):
    """Answers requests when told to, each reporting the CPU its session 'used'."""

    depth = 1

    def __init__(self, cost: dict[str, float]):
        super().__init__()
        self.cost = cost
        self.clock_s = 0.0  # a busy worker: its clock moves by the CPU each request uses
        self.order: list[str] = []
        self.running: list[tuple[rpc.Request, asyncio.Future[rpc.Reply]]] = []

    def now(self) -> float:
        return self.clock_s

    def _dispatch(self, req: rpc.Request, fut: asyncio.Future[rpc.Reply]) -> None:
        self.order.append(req.sid)
        self.running.append((req, fut))

    def finish_one(self) -> None:
        req, fut = self.running.pop(0)
        self.clock_s += self.cost[req.sid]
        fut.set_result(rpc.Reply(cpu_s=self.cost[req.sid]))
        self._finished()


async def sessions(w: FakeWorker, plan: dict[str, int]) -> list[str]:
    """Each session sends its requests one at a time (as a runner does); the worker answers
    one request per loop turn. The order in which the worker took them."""
    async def one(sid: str, n: int) -> None:
        for _ in range(n):
            await w.call(rpc.Step(sid=sid))

    tasks = [asyncio.create_task(one(sid, n)) for sid, n in plan.items()]
    while not all(t.done() for t in tasks):
        for _ in range(3):
            await asyncio.sleep(0)
        if w.running:
            w.finish_one()
    return w.order


def test_a_heavy_session_waits_behind_light_ones() -> None:
    w = FakeWorker({"heavy": 1.0, "light1": 0.01, "light2": 0.01})
    order = run_coroutine(sessions(w, {"heavy": 4, "light1": 10, "light2": 10}))
    # after its first request the heavy session has used 1 s: both light sessions finish
    # (0.1 s each) before it gets the worker again
    assert order.index("heavy", 1) > max(i for i, s in enumerate(order) if s.startswith("light"))
    assert order.count("heavy") == 4


def test_a_newcomer_gets_no_credit_for_idle_time() -> None:
    w = FakeWorker({"old": 0.1, "new": 0.1})
    run_coroutine(sessions(w, {"old": 5}))  # old has used 0.5 s while new did not exist
    order = run_coroutine(sessions(w, {"old": 5, "new": 5}))[5:]
    # new starts at the shared clock, not at 0: no burst of five in a row, they interleave
    assert "new,new,new" not in ",".join(order), order
    assert order.count("new") == 5


def test_a_debt_weighs_at_most_max_lead() -> None:
    w = FakeWorker({"heavy": 10.0, "light1": 0.2, "light2": 0.2})
    order = run_coroutine(sessions(w, {"heavy": 2, "light1": 10, "light2": 10}))
    # 10 s used against 2 s in all for each light session: without a bound the heavy
    # session would wait for every light request; it waits for max_lead (0.5 s) of them
    assert w.max_lead == 0.5
    second = order.index("heavy", 1)
    assert second < max(i for i, s in enumerate(order) if s.startswith("light")), order
    assert order[:second].count("light1") <= 6, order


def test_a_session_that_rested_is_not_kept_behind_for_an_old_debt() -> None:
    w = FakeWorker({"loader": 1.0, "light1": 0.01, "light2": 0.01})
    run_coroutine(sessions(w, {"loader": 1}))  # a costly load: 1 s of CPU
    w.rested["loader"] -= 5.0  # then its student looked at it for 5 s before a click
    order = run_coroutine(sessions(w, {"light1": 5, "light2": 5, "loader": 1}))[1:]
    # forgiven (one second per second of rest): its click goes in line with the others'
    # first ones instead of after all ten
    assert order.index("loader") <= 2, order


def test_a_session_that_does_not_rest_keeps_its_debt() -> None:
    w = FakeWorker({"loader": 1.0, "light1": 0.01, "light2": 0.01})
    run_coroutine(sessions(w, {"loader": 1}))
    order = run_coroutine(sessions(w, {"light1": 5, "light2": 5, "loader": 1}))[1:]
    assert order.index("loader") == 10, order


def test_a_click_and_its_next_example_go_in_line_with_fresh_clicks() -> None:
    w = FakeWorker({"clicker": 0.005, **{f"s{i}": 0.002 for i in range(8)}})
    run_coroutine(sessions(w, {"clicker": 1}))  # its step, answered just now
    # its next_example at once (no rest), beside eight fresh clicks: within the quantum
    # it is not sent behind all of them
    order = run_coroutine(sessions(w, {**{f"s{i}": 1 for i in range(4)}, "clicker": 1,
                                       **{f"s{i}": 1 for i in range(4, 8)}}))[1:]
    assert order.index("clicker") == 4, order


def test_a_lead_never_starves_a_session_beside_paced_ones() -> None:
    """Sessions that play at a pace rest between requests, so each starts at the clock; a
    session with a lead (a costly load) still gets the worker within max_lead of waiting,
    not only once the others stop (the clock alone never moves past it)."""
    w = FakeWorker({"loader": 0.4, **{f"p{i}": 0.01 for i in range(10)}})
    run_coroutine(sessions(w, {"loader": 1}))  # its load: 0.4 s ahead of everyone

    async def paced(sid: str, n: int) -> None:
        for _ in range(n):
            await w.call(rpc.Step(sid=sid))
            w.rested[sid] -= 1.0  # each waited a frame interval before its next request

    async def run() -> list[str]:
        tasks = [asyncio.create_task(paced(f"p{i}", 10)) for i in range(10)]
        tasks.append(asyncio.create_task(paced("loader", 1)))
        while not all(t.done() for t in tasks):
            for _ in range(3):
                await asyncio.sleep(0)
            if w.running:
                w.finish_one()
        return w.order[1:]

    order = run_coroutine(run())
    # 0.4 s of lead is 40 paced requests of 0.01 s: the loader goes at about the 40th of 100
    assert order.index("loader") <= 50, order
