"""IL-prox (Alonso et al. 2022; docs/rules.md): inference learning read as implicit SGD.

The output is clamped not to y but to the proximal target
    x_out = mu_out + kappa (y - mu_out),   kappa = lr E_out / (1 + lr E_out),
the minimiser of L(v) + ||v - mu_out||^2 / (2 lr E_out) for the half-MSE, where E_out is the
output layer's presynaptic activity energy. The hidden values then relax for T steps as in
standard predictive coding (unit variances, predictions recomputed from the current values),
and each linear vertex's parameters change once, by its local error normalised by its own
presynaptic energy:
    delta_theta_i = (dmu_i/dtheta_i)^T eps_i / (E_i + eps),
    E_i = sum over incoming edges ||f_in(v_src)||^2 + 1 (the bias input, when there is a bias).
For a single linear layer this is exactly the implicit (proximal) SGD step
lr / (1 + lr E) (t - W h - b) [h; 1]^T, which tends to backprop's step as lr E -> 0.

Errors shown are eps_i = x_i - mu_i; divergence reads eps_i / kappa (the output's is then
y - mu_out at t = 0, backprop's scale)."""

from __future__ import annotations

from pydantic import Field

from errorwave.rules.base import Observation, Rule, RuleSettings, stage
from errorwave.rules.common.layers import presynaptic_energy
from errorwave.rules.common.predictive import EnergyState, relaxation_stages


class ILProxSettings(RuleSettings):
    steps: int = Field(default=20, ge=0, le=100000, description="Inference steps T before the update")
    gamma: float = Field(default=0.1, gt=0, le=2, description="Inference rate (Euler step on x)")
    eps: float = Field(default=1e-8, ge=0, le=1,
                       description="Added to the presynaptic energy before dividing by it")


class ILProx(Rule):
    name = "ilprox"
    title = "IL-prox (proximal inference learning)"
    equation = ("ε_v = v − μ_v after relaxing;  ΔW_v = η · δ_v · g(x)ᵀ / (1 + η ‖g(x)‖²)")
    equation_form = "update"
    description = ("The output is clamped to a proximal mix of prediction and target, the hidden "
                   "values relax as in predictive coding, and every weight update is normalised "
                   "by its presynaptic activity: one layer gives exactly the implicit SGD step.")
    Settings = ILProxSettings

    @classmethod
    def unsupported(cls, config, structure):
        out = config.node(structure.output)
        if out.op != "linear":
            return (f"the output '{out.id}' has op '{out.op}'; ilprox mixes the target through the "
                    f"output layer's presynaptic activity, so the output must be a linear node")
        if config.graph.loss != "mse":
            return (f"the output '{out.id}' has loss '{config.graph.loss}'; ilprox's proximal output "
                    "target is closed-form for the half-MSE only (loss 'mse')")
        return None

    @classmethod
    def supports_text(cls) -> str:
        return "any DAG whose output is a linear node; mse loss"

    def __init__(self, ctx):
        super().__init__(ctx)
        g, s = self.graph, self.settings
        ff, y = ctx.feedforward, ctx.example.target
        mu = ff[g.output]
        e_out = presynaptic_energy(g, g.output, ff)
        self.kappa = s.lr * e_out / (1.0 + s.lr * e_out)
        self.prox_target = mu + self.kappa * (y - mu)
        self.state = EnergyState(g, ctx.params, ctx.example.inputs, self.prox_target, ff,
                                 dict.fromkeys(g.hidden_and_output, 1.0))
        self.ev = None  # evaluation cached by observe() at step ev_t, reused by advance()
        self.ev_t = -1

    def observe(self) -> Observation:
        st, g, s = self.state, self.graph, self.settings
        self.ev, self.ev_t = st.evaluate(), self.t
        ev = self.ev
        # The output's children read its prediction (as in every predictive rule).
        values = {**st.inputs, **st.x, g.output: ev.predictions[g.output]}
        energies = {n: presynaptic_energy(g, n, values) + s.eps for n in g.param_nodes}
        updates = {}
        for k, d in ev.param_drive.items():
            e = energies[k[0]]
            updates[k] = d / e if e > 0 else d * 0
        scale = self.kappa if self.kappa > 0 else 1.0
        signals = {n: ev.errors[n] / scale for n in g.hidden_and_output}
        events = self.plasticity_at_end("normalised update with the relaxed values")
        return Observation(self.phase(), st.shown_values(ev), ev.predictions, ev.errors, updates,
                           ev.energy, events, signals,
                           readouts={"kappa": self.kappa,
                                     "presynaptic_energy": {n: e - s.eps
                                                            for n, e in energies.items()}})

    def stages(self, obs: Observation) -> list[dict]:
        g = self.graph
        prox = [stage("proximal target", [g.output],
                      f"x_out = μ_out + κ(y − μ_out), κ = {self.kappa:.3g}: a proximal mix, not y")]
        return relaxation_stages(
            g, self.t, "x_v ← x_v + γ(−ε_v + Σ_c J_cvᵀ ε_c), with the errors of step t − 1",
            "x starts at the feed-forward values: every hidden error is 0",
            between=prox if self.t == 0 else None) + self.plasticity_stage(
            obs, "ΔW_v = δ_v · g(x)ᵀ / (‖g(x)‖² + 1): normalised by presynaptic activity")

    def move(self) -> None:
        ev = self.ev if self.ev is not None and self.ev_t == self.t else self.state.evaluate()
        self.state.move_values(ev, self.settings.gamma)
