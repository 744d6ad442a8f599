"""Target propagation (Lee et al. 2015; docs/rules.md): h^_{i-1} = g_i(h^_i) with learned
approximate inverses g_i. The machinery is in `targets.py`."""

from __future__ import annotations

from errorwave.rules.common.targets import TargetPropBase


class TargetProp(TargetPropBase):
    name = "tp"
    title = "Target propagation"
    equation = ("ĥ_v = g(ĥ_above);   ΔW_v = η · ((ĥ_v − v) ⊙ f′(a_v)) · g(x)ᵀ")
    equation_form = "update"
    description = ("The output learns by its gradient; the last hidden layer gets a target a small "
                   "step down the gradient; lower targets come through learned inverses "
                   "g(h) = tanh(V h + c), and each layer learns to hit its target.")
    difference = False
