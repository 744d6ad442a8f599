"""Difference target propagation (Lee et al. 2015; docs/rules.md):
h^_{i-1} = h_{i-1} + g_i(h^_i) - g_i(h_i), which cancels the inverse's reconstruction error
(a zero target step gives a zero target step below, for any g). The machinery is in
`targets.py`."""

from __future__ import annotations

from errorwave.rules.common.targets import TargetPropBase


class DifferenceTargetProp(TargetPropBase):
    name = "dtp"
    title = "Difference target propagation"
    equation = ("ĥ_v = v + g(ĥ_above) − g(h_above);   ΔW_v = η · ((ĥ_v − v) ⊙ f′(a_v)) · g(x)ᵀ")
    equation_form = "update"
    description = ("Target propagation with the difference correction h^ = h + g(h^ above) - g(h "
                   "above): the inverse's own reconstruction error cancels, so targets stay "
                   "useful while the inverses are still poor.")
    difference = True
