"""The base of rules that compute a whole example up front (a backward pass, a broadcast,
targets from the top) and reveal it step by step, so the page can show their own wave."""

from __future__ import annotations

from abc import abstractmethod

import torch

from errorwave.graph import Params, Values
from errorwave.rules.base import Rule, stage


class RevealedRule(Rule):
    @abstractmethod
    def reached(self) -> set[str]:
        """The vertices whose error and update are shown at step t."""

    def reached_by_depth(self) -> set[str]:
        """A backward front: the vertices whose longest distance to the output is <= t."""
        g = self.graph
        return {n for n in g.hidden_and_output if (g.s.longest[n] or 0) <= self.t}

    def front_stages(self, through: str) -> list[dict]:
        """Slow motion of a backward front: one stage per vertex it reaches at this step, in
        the order a reverse-mode pass runs them (reverse topological), each the vector-Jacobian
        product that gathers the vertex's error from its children `through` something."""
        g, out = self.graph, self.graph.output
        stages = []
        for n in reversed(g.hidden_and_output):
            depth = g.s.longest[n]
            if (depth or 0) != self.t:
                continue
            if n == out:
                stages.append(stage("loss gradient", [n], "δ_out = −∂L/∂μ_out at the output"))
            elif depth is None:
                stages.append(stage("no path", [n], f"{n} has no path to the output: its δ is 0"))
            else:
                kids = list(g.s.children[n])
                stages.append(stage("vjp", [n, *kids],
                                    f"VJP into {n}: δ_{n} = Σ over {', '.join(kids)} of {through}"))
        return stages

    def reveal(self, errors: Values, grads: Params) -> tuple[Values, Params]:
        """The errors of the reached vertices (zero elsewhere) and their updates
        -lr * grads (zero elsewhere)."""
        done, lr = self.reached(), self.settings.lr
        shown = {n: (errors[n] if n in done else self.zeros(n)) for n in self.graph.hidden_and_output}
        updates = {k: (-lr * v if k[0] in done else torch.zeros_like(v)) for k, v in grads.items()}
        return shown, updates
