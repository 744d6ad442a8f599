"""Which graphs a rule can run on: each check returns the first problem, naming the node, or None."""

from __future__ import annotations

from errorwave.config import Config
from errorwave.structure import Structure


def linear_only_problem(config: Config, s: Structure, rule: str) -> str | None:
    """Every vertex with a prediction must be a `linear` node."""
    for nid in s.order:
        node = config.node(nid)
        if node.op not in ("input", "linear"):
            return (f"node '{nid}' has op '{node.op}'; {rule} needs every non-input node to be "
                    f"'linear' (its signals live on linear layers)")
    return None


def chain_problem(config: Config, s: Structure, rule: str) -> str | None:
    """A layered chain: one input, then linear nodes each fed by the previous one only,
    ending at the output. None if the graph is one, else the first thing that is wrong."""
    if len(s.inputs) != 1:
        return (f"{rule} needs a chain with exactly one input node; the graph has {len(s.inputs)} "
                f"({', '.join(repr(n) for n in s.inputs)})")
    problem = linear_only_problem(config, s, rule)
    if problem:
        return problem
    for nid in s.order:
        if len(s.parents[nid]) > 1:
            return (f"node '{nid}' has {len(s.parents[nid])} inputs "
                    f"({', '.join(s.parents[nid])}); {rule} needs a layered chain "
                    f"(one input per node)")
        if len(s.children[nid]) > 1:
            return (f"node '{nid}' feeds {len(s.children[nid])} nodes "
                    f"({', '.join(s.children[nid])}); {rule} needs a layered chain "
                    f"(one child per node)")
    if s.children[s.output]:
        return (f"the output '{s.output}' feeds '{s.children[s.output][0]}'; {rule} needs the "
                f"output at the end of the chain")
    return None


def form_b_problem(config: Config, s: Structure, rule: str) -> str | None:
    """Values are post-activations: mu = f(W x + b), input_activation identity."""
    for nid in s.order:
        node = config.node(nid)
        if node.op == "linear" and node.input_activation != "identity":
            return (f"node '{nid}' has input_activation '{node.input_activation}'; {rule} needs "
                    f"form B layers (mu = f(W x + b), input_activation identity)")
    return None
