"""Drive a rule through an example: snapshot, frames, events, divergence, learning.

The engine owns everything rule-independent: the compiled graph and parameters,
the current example, backprop's reference numbers, the comparison with them, and
the generic events (`events.py`) and the frames (`frames.py`, JSON-ready dicts:
non-finite numbers become None).
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch

import errorwave.datasets as datasets
from errorwave.boundary import decision_boundary
from errorwave.config import Config, DatasetData, Limits
from errorwave.events import EventMonitor
from errorwave.frames import Detail, FrameBuilder, nan_to_none
from errorwave.graph import CompiledGraph, Params
from errorwave.issues import ConfigInvalid, Issue
from errorwave.rules import registry
from errorwave.rules.base import Context, Example, Observation, Rule
from errorwave.structure import Structure
from errorwave.trajectory import trajectory as trajectory_table
from errorwave.validation import parse_config

SIGN_CONVENTION = ("errors tend to -dL/dv (the negative adjoint); updates are the change applied "
                   "(backprop's: -lr dL/dtheta)")


class Engine:
    """One configuration, stepped. Use `step()`, `run()`, `next_example()`, `reset()`."""

    def __init__(self, config: Config | dict | str, limits: Limits | None = None, revision: int = 0,
                 detail: Detail = "full"):
        self.limits = limits or Limits()
        # "full" frames carry every update matrix; "lean" ones only the watched vertices'.
        self.detail: Detail = detail
        self.watch: set[str] = set()
        raw = config.model_dump(mode="json", exclude_none=True) if isinstance(config, Config) else config
        self.config, self.structure = parse_config(raw, self.limits)
        self.revision = revision
        self._build()

    # ----- set-up ------------------------------------------------------------------------
    def _build(self) -> None:
        self.graph = CompiledGraph(self.config, self.structure)
        self.rule_cls: type[Rule] = registry[self.config.rule.name]
        self.settings = self.config.rule.settings_as(self.rule_cls.Settings)
        self.steps = self.rule_cls.total_steps(self.settings, self.structure)
        self.frames = FrameBuilder(self.graph)
        self.initial_params = self.graph.init_params()
        self.params = {k: v.clone() for k, v in self.initial_params.items()}
        data = self.config.data
        self.example_index = data.index if isinstance(data, DatasetData) else 0
        self.examples_seen = 0
        self.memory: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []  # one row per finished example
        self._start_example()

    def _example(self) -> Example:
        g, data, dt = self.graph, self.config.data, self.graph.dtype
        if isinstance(data, DatasetData):
            x, target, idx = datasets.example(data.dataset, data.samples, self.config.seeds.data,
                                              self.example_index, self.structure.sizes[g.output])
            inputs = {g.inputs[0]: torch.tensor(x, dtype=dt)}
            return Example(inputs, torch.tensor(target, dtype=dt), idx)
        inputs = {n: torch.tensor(v, dtype=dt) for n, v in data.input.items()}
        if isinstance(data.target, int):
            one_hot = torch.zeros(self.structure.sizes[g.output], dtype=dt)
            one_hot[data.target] = 1.0
            return Example(inputs, one_hot, 0)
        return Example(inputs, torch.tensor(data.target, dtype=dt), 0)

    def _start_example(self) -> None:
        g = self.graph
        self.example = self._example()
        ff, loss, adjoint, grads = g.backprop(self.example.inputs, self.example.target, self.params)
        self.feedforward, self.loss, self.adjoint, self.grads = ff, float(loss), adjoint, grads
        lr = self.settings.lr
        self.bp_updates: Params = {k: -lr * v for k, v in grads.items()}
        self.frames.set_references(adjoint, self.bp_updates)
        ctx = Context(g, {k: v.clone() for k, v in self.params.items()}, self.example, ff,
                      self.settings, self.config.seeds.init + self.examples_seen, self.memory)
        self.rule = self.rule_cls(ctx)
        self.t = 0
        self.monitor = EventMonitor(g, ff, self.example.target, self.loss)
        self.observation: Observation | None = None
        # Only the current frame is kept (a long example's frames can be large); callers that
        # want the trajectory collect what step()/run() return.
        self._current = self._frame(self.rule.observe())

    # ----- stepping ------------------------------------------------------------------------
    @property
    def halted(self) -> dict[str, Any] | None:
        """Where and why the example halted (a `diverged` or `unstable` event), or None."""
        return self.monitor.halted

    @property
    def done(self) -> bool:
        return self.halted is not None or self.t >= self.steps

    @property
    def frame(self) -> dict[str, Any]:
        return self._current

    def step(self) -> dict[str, Any] | None:
        """Advance one inference step; None once the example is done or has diverged."""
        if self.done:
            return None
        self.rule.advance()
        self.t += 1
        self._current = self._frame(self.rule.observe())
        return self._current

    def run(self, until: int | None = None) -> list[dict[str, Any]]:
        """Step to `until` (default: the end of the example); the new frames."""
        stop = self.steps if until is None else min(until, self.steps)
        out: list[dict[str, Any]] = []
        while self.t < stop and (frame := self.step()) is not None:
            out.append(frame)
        return out

    def next_example(self) -> dict[str, Any] | None:
        """Finish this example, apply its updates, move to the next one; its snapshot.
        None (and nothing applied) when the example diverged."""
        self.run()
        if self.halted is not None or self.observation is None:
            return None
        for k, d in self.observation.updates.items():
            self.params[k] = self.params[k] + d
        self.history.append(self._history_row())
        self.example_index += 1
        self.examples_seen += 1
        self._start_example()
        return self.snapshot()

    def reset(self) -> dict[str, Any]:
        """Back to the initial parameters (same init seed) and the first example."""
        self.revision += 1
        self._build()
        return self.snapshot()

    def adopt(self, other: Engine, same_rule: bool) -> dict[str, Any]:
        """Go on from another engine of the same graph: its learned parameters and its
        example, from t = 0 (compare mode turned on or off mid-way). With `same_rule` the
        rule's memory between examples and the learning rows come along too."""
        self.params = {k: v.clone() for k, v in other.params.items()}
        self.example_index, self.examples_seen = other.example_index, other.examples_seen
        if same_rule:
            self.memory, self.history = other.memory, other.history
        self._start_example()
        return self.snapshot()

    def restart_example(self) -> dict[str, Any]:
        """The current example again from t = 0, learned parameters kept (a new revision)."""
        self.revision += 1
        self._start_example()
        return self.snapshot()

    def set(self, path: str, value: Any) -> dict[str, Any]:
        """Change one field of the configuration (e.g. "rule.gamma"). A rule setting keeps
        the learned parameters and restarts the current example; anything else rebuilds.
        Raises ConfigInvalid, leaving the engine unchanged, if the result is invalid."""
        raw = with_field(self.config.model_dump(mode="json", exclude_none=True), path, value)
        parts = path.split(".")
        config, structure = parse_config(raw, self.limits)
        self.revision += 1
        if parts[0] == "rule" and parts[-1] != "name":
            self.config, self.structure = config, structure
            self.settings = config.rule.settings_as(self.rule_cls.Settings)
            self.steps = self.rule_cls.total_steps(self.settings, structure)
            self._start_example()
        else:
            self.config, self.structure = config, structure
            self._build()
        return self.snapshot()

    # ----- output ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        g, s = self.graph, self.structure
        nodes = {}
        for nid in s.order:
            node = g.nodes[nid]
            nodes[nid] = {"op": node.op, "size": s.sizes[nid], "inputs": list(node.inputs),
                          "label": node.label,
                          "distance": {"shortest": s.shortest[nid], "longest": s.longest[nid]},
                          "has_params": nid in g.param_nodes}
        snap = {
            "type": "snapshot", "revision": self.revision,
            "config": self.config.model_dump(mode="json", exclude_none=True),
            "graph": {"order": list(s.order), "nodes": nodes, "output": s.output, "depth": s.depth},
            "rule": {"name": self.rule_cls.name, "title": self.rule_cls.title,
                     "settings": self.settings.model_dump(mode="json"), "steps": self.steps,
                     "error_meaning": self.rule_cls.error_meaning},
            "example": {"index": self.example.index, "seen": self.examples_seen,
                        "input": {n: v.tolist() for n, v in self.example.inputs.items()},
                        "target": self.example.target.tolist()},
            "params": g.nest(self.params),
            "feedforward": {n: self.feedforward[n].tolist() for n in s.order},
            "backprop": {"loss": self.loss,
                         "adjoint": {n: self.adjoint[n].tolist() for n in s.order},
                         "updates": g.nest(self.bp_updates)},
            "sign_convention": SIGN_CONVENTION,
        }
        return nan_to_none(snap)

    def _frame(self, obs: Observation) -> dict[str, Any]:
        self.observation = obs
        nums = self.frames.numbers(obs)  # flat once, shared by the events and the frame
        events = list(obs.events) + self.monitor.check(obs, self.t, nums)
        meta = {"revision": self.revision, "example": self.examples_seen, "t": self.t,
                "done": self.halted is not None or self.t >= self.steps,
                "stages": self.rule.stages(obs)}  # slow motion: the sub-steps that led here
        return self.frames.build(obs, meta, events, self.detail, self.watch, nums)

    def _history_row(self) -> dict[str, Any]:
        """Training curve row: loss and each layer's angle to backprop's update (degrees)."""
        div = self.frame["divergence"]
        angles = {n: (None if m["cosine"] is None else math.degrees(math.acos(m["cosine"])))
                  for n, m in div["params"].items()}
        # the decision boundary after this example's updates (2-D datasets only); only the
        # newest row keeps it, so a long history stays small
        if self.history:
            self.history[-1].pop("boundary", None)
        return {"example": self.examples_seen, "index": self.example.index, "loss": self.loss,
                "angle": angles, "cosine": div["total"]["cosine"],
                "boundary": decision_boundary(self.graph, self.params, self.config)}

    # ----- convenience for scripts ---------------------------------------------------------
    def trajectory(self, examples: int = 1) -> Any:
        """The current frame and every frame to the end of the example, for `examples`
        examples in turn, as a tidy pandas DataFrame (needs pandas; advances the engine)."""
        return trajectory_table(self, examples)

    def error(self, node: str) -> torch.Tensor:
        """The current error of a vertex (a tensor)."""
        obs = self.observation
        assert obs is not None
        return obs.errors.get(node, torch.zeros(self.structure.sizes[node], dtype=self.graph.dtype))

    def divergence(self) -> dict[str, Any]:
        return self.frame["divergence"]


def with_field(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`raw` (changed in place) with the dotted `path` set to `value`; ConfigInvalid when
    the path does not run through objects."""
    parts = path.split(".")
    target: Any = raw
    for p in parts[:-1]:
        target = target.get(p) if isinstance(target, dict) else None
    if not isinstance(target, dict) or not all(parts):
        raise ConfigInvalid([Issue(path, f"no field '{path}' in the configuration (set takes a "
                                   "dotted path through objects, e.g. rule.gamma)", None, parts[-1],
                                   "schema")])
    target[parts[-1]] = value
    return raw


def to_json(message: dict[str, Any]) -> str:
    """Compact, deterministic JSON (the same configuration gives the same bytes)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


__all__ = ["Engine", "Structure", "to_json", "nan_to_none", "SIGN_CONVENTION"]
