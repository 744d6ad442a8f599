"""Standard predictive coding / inference learning (Whittington & Bogacz 2017; docs/rules.md)."""

from __future__ import annotations

from pydantic import Field

from errorwave.rules.base import Observation, Rule, RuleSettings
from errorwave.rules.common.predictive import EnergyState, relaxation_stages


class PCSettings(RuleSettings):
    steps: int = Field(default=100, ge=0, le=100000, description="Inference steps T before the update")
    gamma: float = Field(default=0.2, gt=0, le=2, description="Inference rate (Euler step on x)")
    lr: float = Field(default=0.2, gt=0, le=10, description="Learning rate of the single weight update")
    hidden_variance: float = Field(default=1.0, gt=0, le=1e6, description="Variance s of hidden vertices")
    output_variance: float = Field(default=10.0, gt=0, le=1e6,
                                   description="Variance s_out of the output; s_out/s_hidden = k")
    scale_lr_by_output_variance: bool = Field(
        default=True, description="Multiply the weight change by s_out so it matches BP's as k grows")


class PredictiveCoding(Rule):
    name = "pc"
    title = "Standard predictive coding (inference learning)"
    equation = ("ε_v = v − μ_v;  v ← v + γ(−ε_v + Σ_c (∂μ_c/∂v)ᵀ ε_c) for T steps;   "
                "then ΔW_v = η · δ_v · g(x)ᵀ,  δ_v = ε_v ⊙ f′(a_v)")
    description = ("Relax the values for T synchronous steps with input and target clamped, "
                   "predictions recomputed from the current values, then update every parameter once.")
    Settings = PCSettings

    def __init__(self, ctx):
        super().__init__(ctx)
        s, g = self.settings, self.graph
        variances = {n: s.hidden_variance for n in g.hidden} | {g.output: s.output_variance}
        self.state = EnergyState(g, ctx.params, ctx.example.inputs, ctx.example.target,
                                 ctx.feedforward, variances)
        self.scale = s.output_variance if s.scale_lr_by_output_variance else 1.0
        self.ev = None
        self.ev_t = -1

    def observe(self) -> Observation:
        st, s, g = self.state, self.settings, self.graph
        self.ev, self.ev_t = st.evaluate(), self.t
        ev = self.ev
        updates = {k: s.lr * self.scale * d for k, d in ev.param_drive.items()}
        # Divergence reads the precision-weighted error on BP's scale: k * eps_i / s_i.
        signals = {n: self.scale * ev.errors[n] / st.variances[n] for n in g.hidden_and_output}
        events = self.plasticity_at_end("single update with the relaxed values")
        return Observation(self.phase(), st.shown_values(ev), ev.predictions, ev.errors, updates,
                           ev.energy, events, signals)

    def stages(self, obs: Observation) -> list[dict]:
        return relaxation_stages(
            self.graph, self.t,
            "x_v ← x_v + γ(−ε_v/s_v + Σ_c J_cvᵀ ε_c/s_c), with the errors of step t − 1",
            "x starts at the feed-forward values: every hidden error is 0") + self.plasticity_stage(
            obs, "ΔW_v = η · s_out · δ_v · g(x)ᵀ / s_v: one update, with the relaxed values")

    def move(self) -> None:
        # the parameter gradients are read at observe(); moving needs only the values'
        ev = self.ev if self.ev is not None and self.ev_t == self.t else self.state.evaluate(params=())
        self.state.move_values(ev, self.settings.gamma)
