"""The rule-independent events of a step: an error arriving at a vertex, convergence,
and the two halts — `diverged` (a NaN or Inf appeared) and `unstable` (finite numbers,
but orders of magnitude beyond anything the example could produce).

The instability bounds are scale-aware: they are set once per example from the
feed-forward pass (its values, the target and its loss), never from a rule's energy,
which may legitimately start at 0 (Fa-Z-IL's prediction period, EqProp's free phase).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from errorwave.divergence import flat
from errorwave.graph import CompiledGraph, Values
from errorwave.rules.base import Observation

if TYPE_CHECKING:
    from errorwave.frames import StepNumbers

CONVERGED_TOL = 1e-12
# A value or prediction beyond VALUE_FACTOR x (1 + the largest feed-forward magnitude) is
# unstable; so is an energy beyond ENERGY_FACTOR x (1 + loss + squared feed-forward norm).
# No preset and no random graph of the property tests comes near either.
VALUE_FACTOR = 1e4
ENERGY_FACTOR = 1e8

Event = dict[str, Any]


def event(kind: str, node: str | None, t: int, detail: str = "") -> Event:
    return {"kind": kind, "node": node, "t": t, "detail": detail}


class EventMonitor:
    """Watches one example's observations; `halted` is set by a diverged/unstable event."""

    def __init__(self, graph: CompiledGraph, feedforward: Values, target: torch.Tensor, loss: float):
        self.g = graph
        ff = flat([feedforward[n] for n in graph.order] + [target])
        finite = ff[torch.isfinite(ff)]
        biggest = float(finite.abs().max()) if finite.numel() else 0.0
        self.value_bound = VALUE_FACTOR * (1.0 + biggest)
        sq = float((finite ** 2).sum()) if finite.numel() else 0.0
        self.energy_bound = ENERGY_FACTOR * (1.0 + (abs(loss) if math.isfinite(loss) else 0.0) + sq)
        self.arrived: set[str] = set()
        self.converged = False
        self.halted: dict[str, Any] | None = None
        self._prev_errors: torch.Tensor | None = None
        self._nums: StepNumbers | None = None

    def check(self, obs: Observation, t: int, nums: StepNumbers | None = None) -> list[Event]:
        """The generic events at step t (in this order: arrivals, then a halt or convergence).
        `nums` (frames.StepNumbers) spares the scans its flat numbers already answer."""
        g = self.g
        self._nums = nums
        events: list[Event] = []
        for nid in g.hidden_and_output:
            if nid not in self.arrived and bool((obs.errors[nid] != 0).any()):
                self.arrived.add(nid)
                events.append(event("error_arrived", nid, t))
        halt = self._nonfinite(obs, t) or self._unstable(obs, t)
        if halt is not None:
            self.halted = {"node": halt["node"], "field": halt.pop("field"), "t": t, "kind": halt["kind"]}
            events.append(halt)
            return events
        now = nums.errors if nums is not None else flat([obs.errors[n] for n in g.hidden_and_output])
        if self._prev_errors is not None and not self.converged and now.numel():
            change = float((now - self._prev_errors).abs().max())
            if change <= CONVERGED_TOL * max(1.0, float(now.abs().max())):
                self.converged = True
                events.append(event("converged", None, t, f"errors changed by at most {change:.3g}"))
        self._prev_errors = now
        return events

    # ----- halts -------------------------------------------------------------------------------
    def _tables(self, obs: Observation):
        return (("value", obs.values), ("prediction", obs.predictions), ("error", obs.errors))

    def _nonfinite(self, obs: Observation, t: int) -> Event | None:
        """Where a blow-up started: the first vertex in topological order (then the first
        field) holding a non-finite number."""
        g = self.g
        if self._nums is not None and self._nums.finite:  # the one finiteness check of the step
            return None
        everything = [*obs.values.values(), *obs.predictions.values(), *obs.errors.values(),
                      *obs.updates.values()]
        if math.isfinite(obs.energy) and bool(torch.isfinite(flat(everything)).all()):
            return None
        where: tuple[str, str] = (g.output, "energy")
        for nid in g.order:
            bad = next((what for what, table in self._tables(obs)
                        if nid in table and not bool(torch.isfinite(table[nid]).all())), None)
            if bad is None and any(k[0] == nid and not bool(torch.isfinite(obs.updates[k]).all())
                                   for k in g.param_keys):
                bad = "update"
            if bad is not None:
                where = (nid, bad)
                break
        nid, what = where
        out = event("diverged", nid, t, f"non-finite {what} at node '{nid}' (step {t})")
        out["field"] = what
        return out

    def _unstable(self, obs: Observation, t: int) -> Event | None:
        """Finite but runaway: the first vertex whose value or prediction passed the bound,
        else (energy alone past its bound) the vertex with the largest error."""
        g = self.g
        # every number of the step is within the bound: no vertex to look for
        quiet = self._nums is not None and self._nums.peak <= self.value_bound
        for nid in [] if quiet else g.order:
            for what, table in self._tables(obs)[:2]:
                if nid in table and table[nid].numel():
                    size = float(table[nid].abs().max())
                    if size > self.value_bound:
                        out = event("unstable", nid, t,
                                    f"{what} at node '{nid}' reached {size:.3g} (bound "
                                    f"{self.value_bound:.3g}, from the feed-forward scale) at step {t}")
                        out["field"] = what
                        return out
        if abs(obs.energy) > self.energy_bound:
            sizes = {n: float(obs.errors[n].abs().max())
                     for n in g.hidden_and_output if obs.errors[n].numel()}
            nid = max(sizes, key=lambda n: sizes[n]) if sizes else g.output
            out = event("unstable", nid, t, f"energy reached {obs.energy:.3g} (bound {self.energy_bound:.3g},"
                                            f" from the feed-forward loss and values) at step {t}")
            out["field"] = "energy"
            return out
        return None
