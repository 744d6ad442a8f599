"""Turn untrusted JSON into a checked Config, or into issues that name node and field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from errorwave.config import Config, DatasetData, Limits


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    node: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "node": self.node, "field": self.field, "message": self.message}


class ConfigInvalid(ValueError):
    """A configuration failed validation; `issues` says where and why."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.path}: {i.message}" for i in issues))


@dataclass
class Structure:
    """The checked topology of a graph: what the compiler and the rules build on."""

    order: list[str]
    sizes: dict[str, int]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    output: str
    inputs: list[str]
    shortest: dict[str, int | None] = field(default_factory=dict)
    longest: dict[str, int | None] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        """Longest distance to the output over vertices with a prediction: the number
        of steps an error needs to reach every such vertex (hidden layers of a chain)."""
        return max((d for n, d in self.longest.items() if d is not None and n not in self.inputs),
                   default=0)

    def is_chain(self) -> bool:
        """Every vertex has at most one parent and one child, on one path."""
        return all(len(p) <= 1 for p in self.parents.values()) and all(
            len(c) <= 1 for c in self.children.values()
        )


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _node_at(raw: Any, loc: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """For a pydantic error location inside graph.nodes[i], the node's id and field."""
    if len(loc) >= 3 and loc[0] == "graph" and loc[1] == "nodes" and isinstance(loc[2], int):
        try:
            node_id = raw["graph"]["nodes"][loc[2]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            node_id = None
        fld = str(loc[3]) if len(loc) > 3 else None
        return (node_id if isinstance(node_id, str) else None), fld
    if len(loc) >= 2 and loc[0] == "params":
        return str(loc[1]), (str(loc[2]) if len(loc) > 2 else None)
    return None, (str(loc[-1]) if loc else None)


def parse_config(raw: Any, limits: Limits | None = None) -> tuple[Config, Structure]:
    """Validate a configuration (a dict or JSON text). Raises ConfigInvalid."""
    try:
        if isinstance(raw, str | bytes):
            config = Config.model_validate_json(raw)
            raw = json.loads(raw)
        else:
            config = Config.model_validate(raw)
    except ValidationError as err:
        issues = []
        for e in err.errors():
            node, fld = _node_at(raw, tuple(e["loc"]))
            msg = e["msg"]
            if node:
                msg = f"node '{node}': {msg}"
            issues.append(Issue(_loc_to_path(tuple(e["loc"])), msg, node, fld))
        raise ConfigInvalid(issues) from None
    except ValueError as err:  # malformed JSON text
        raise ConfigInvalid([Issue("", f"not valid JSON: {err}")]) from None
    structure = check_config(config, limits or Limits())
    return config, structure


def check_config(config: Config, limits: Limits) -> Structure:
    """The checks a schema cannot express. Raises ConfigInvalid with every issue found."""
    issues: list[Issue] = []
    nodes = config.graph.nodes

    def bad(i: int, fld: str, msg: str) -> None:
        issues.append(Issue(f"graph.nodes[{i}].{fld}", f"node '{nodes[i].id}': {msg}", nodes[i].id, fld))

    if len(nodes) > limits.max_nodes:
        issues.append(Issue("graph.nodes", f"{len(nodes)} nodes exceed the limit of {limits.max_nodes}"))
        raise ConfigInvalid(issues)
    index: dict[str, int] = {}
    for i, n in enumerate(nodes):
        if n.id in index:
            bad(i, "id", "duplicate id")
        index[n.id] = i
    n_edges = sum(len(n.inputs) for n in nodes)
    if n_edges > limits.max_edges:
        issues.append(Issue("graph.nodes", f"{n_edges} edges exceed the limit of {limits.max_edges}"))
    for i, n in enumerate(nodes):
        for src in n.inputs:
            if src not in index:
                bad(i, "inputs", f"unknown input '{src}'")
            elif src == n.id:
                bad(i, "inputs", "takes itself as input (a cycle)")
        if len(set(n.inputs)) != len(n.inputs):
            bad(i, "inputs", "lists an input twice")
        arity_ok = {
            "input": len(n.inputs) == 0,
            "linear": len(n.inputs) >= 1,
            "add": len(n.inputs) >= 2,
            "mul": len(n.inputs) >= 2,
        }.get(n.op, len(n.inputs) == 1)
        if not arity_ok:
            need = {"input": "no inputs", "linear": "at least one input", "add": "two or more inputs",
                    "mul": "two or more inputs"}.get(n.op, "exactly one input")
            bad(i, "inputs", f"op '{n.op}' takes {need}, got {len(n.inputs)}")
        if n.op in ("input", "linear") and n.size is None:
            bad(i, "size", f"op '{n.op}' needs a size")
        if n.size is not None and n.size > limits.max_units:
            bad(i, "size", f"{n.size} units exceed the limit of {limits.max_units}")
        if n.op != "linear" and (n.input_activation != "identity" or n.activation != "identity"):
            fld = "activation" if n.activation != "identity" else "input_activation"
            bad(i, fld, f"activations apply to linear nodes only, not to op '{n.op}'")
    if config.graph.output not in index:
        issues.append(Issue("graph.output", f"output '{config.graph.output}' is not a node", None, "output"))
    elif nodes[index[config.graph.output]].op == "input":
        issues.append(Issue("graph.output", "the output cannot be an input node",
                            config.graph.output, "output"))
    if issues:
        raise ConfigInvalid(issues)

    order = _topological_order(config, issues)
    if issues:
        raise ConfigInvalid(issues)

    parents = {n.id: list(n.inputs) for n in nodes}
    children: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for src in n.inputs:
            children[src].append(n.id)
    sizes: dict[str, int] = {}
    for nid in order:
        i, n = index[nid], nodes[index[nid]]
        if n.op in ("input", "linear"):
            sizes[nid] = n.size or 1
            continue
        in_sizes = {src: sizes[src] for src in n.inputs}
        if len(set(in_sizes.values())) > 1:
            a, b = list(in_sizes.items())[:2]
            detail = ", ".join(f"'{k}' has {v}" for k, v in in_sizes.items())
            bad(i, "inputs", f"size mismatch between '{a[0]}' and '{b[0]}': {detail}")
        size = next(iter(in_sizes.values()))
        if n.size is not None and n.size != size:
            bad(i, "size", f"size {n.size} does not match its input size {size}")
        sizes[nid] = size
    if issues:
        raise ConfigInvalid(issues)

    inputs = [n.id for n in nodes if n.op == "input"]
    structure = Structure(order, sizes, parents, children, config.graph.output, inputs)
    _distances(structure)
    _check_params(config, structure, limits, issues)
    _check_data(config, structure, issues)
    _check_rule(config, structure, limits, issues)
    if issues:
        raise ConfigInvalid(issues)
    return structure


def _topological_order(config: Config, issues: list[Issue]) -> list[str]:
    nodes = config.graph.nodes
    indegree = {n.id: len(n.inputs) for n in nodes}
    children: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for src in n.inputs:
            children[src].append(n.id)
    ready = [n.id for n in nodes if indegree[n.id] == 0]
    order: list[str] = []
    while ready:
        nid = ready.pop(0)
        order.append(nid)
        for c in children[nid]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if len(order) < len(nodes):
        cycle = _find_cycle(config, set(order))
        issues.append(Issue("graph.nodes", "the graph has a cycle: " + " -> ".join(cycle),
                            cycle[0], "inputs"))
    return order


def _find_cycle(config: Config, acyclic: set[str]) -> list[str]:
    parents = {n.id: n.inputs for n in config.graph.nodes}
    start = next(n.id for n in config.graph.nodes if n.id not in acyclic)
    # Walk parents inside the cyclic remainder until a vertex repeats.
    path, seen, cur = [], {}, start
    while cur not in seen:
        seen[cur] = len(path)
        path.append(cur)
        cur = next(p for p in parents[cur] if p not in acyclic)
    loop = path[seen[cur]:]
    loop.reverse()  # parents walked backward: show the flow direction
    return loop + [loop[0]]


def _distances(s: Structure) -> None:
    """Shortest and longest number of edges from each vertex to the output."""
    short: dict[str, int | None] = {nid: None for nid in s.order}
    long: dict[str, int | None] = {nid: None for nid in s.order}
    short[s.output] = long[s.output] = 0
    for nid in reversed(s.order):
        if nid == s.output:
            continue
        ds = [short[c] for c in s.children[nid] if short[c] is not None]
        dl = [long[c] for c in s.children[nid] if long[c] is not None]
        if ds:
            short[nid] = min(ds) + 1
            long[nid] = max(dl) + 1
    s.shortest, s.longest = short, long


def _check_params(config: Config, s: Structure, limits: Limits, issues: list[Issue]) -> None:
    total = 0
    for n in config.graph.nodes:
        if n.op == "linear":
            total += sum(s.sizes[n.id] * s.sizes[src] for src in n.inputs) + (s.sizes[n.id] if n.bias else 0)
    if total > limits.max_params:
        issues.append(Issue("graph.nodes", f"{total} parameters exceed the limit of {limits.max_params}"))
    for nid, p in config.params.items():
        path = f"params.{nid}"
        if nid not in s.sizes:
            issues.append(Issue(path, f"params given for unknown node '{nid}'", nid, None))
            continue
        node = config.node(nid)
        if node.op != "linear":
            issues.append(Issue(path, f"node '{nid}': op '{node.op}' has no parameters", nid, None))
            continue
        rows = s.sizes[nid]
        for src, w in p.weight.items():
            if src not in node.inputs:
                issues.append(Issue(f"{path}.weight.{src}", f"node '{nid}': no edge from '{src}'",
                                    nid, "weight"))
                continue
            cols = s.sizes[src]
            if len(w) != rows or any(len(r) != cols for r in w):
                got = f"{len(w)}x{len(w[0]) if w else 0}"
                issues.append(Issue(f"{path}.weight.{src}",
                                    f"node '{nid}': weight from '{src}' must be {rows}x{cols} "
                                    f"('{nid}' has {rows} units, '{src}' has {cols}), got {got}",
                                    nid, "weight"))
        if p.bias is not None:
            if not node.bias:
                issues.append(Issue(f"{path}.bias", f"node '{nid}': has bias: false", nid, "bias"))
            elif len(p.bias) != rows:
                issues.append(Issue(f"{path}.bias", f"node '{nid}': bias must have {rows} entries, "
                                    f"got {len(p.bias)}", nid, "bias"))


def _check_data(config: Config, s: Structure, issues: list[Issue]) -> None:
    out_size = s.sizes[s.output]
    ce = config.graph.loss == "cross_entropy"
    if ce and out_size < 2:
        issues.append(Issue("graph.loss", "cross_entropy needs an output of two or more units",
                            s.output, "loss"))
    data = config.data
    if isinstance(data, DatasetData):
        from errorwave.datasets import dataset_shape

        n_features, n_classes = dataset_shape(data.dataset)
        if len(s.inputs) != 1:
            issues.append(Issue("data.dataset", f"dataset '{data.dataset}' needs exactly one input node, "
                                f"the graph has {len(s.inputs)}", None, "dataset"))
        elif s.sizes[s.inputs[0]] != n_features:
            issues.append(Issue("data.dataset", f"dataset '{data.dataset}' has {n_features} features but "
                                f"input '{s.inputs[0]}' has {s.sizes[s.inputs[0]]} units",
                                s.inputs[0], "size"))
        if out_size != n_classes and not (out_size == 1 and n_classes == 2 and not ce):
            issues.append(Issue("data.dataset", f"dataset '{data.dataset}' has {n_classes} classes but "
                                f"output '{s.output}' has {out_size} units", s.output, "size"))
        return
    for nid in s.inputs:
        if nid not in data.input:
            issues.append(Issue(f"data.input.{nid}", f"no data for input node '{nid}'", nid, "input"))
        elif len(data.input[nid]) != s.sizes[nid]:
            issues.append(Issue(f"data.input.{nid}", f"input '{nid}' has {s.sizes[nid]} units, data has "
                                f"{len(data.input[nid])} values", nid, "input"))
    for nid in data.input:
        if nid not in s.inputs:
            issues.append(Issue(f"data.input.{nid}", f"'{nid}' is not an input node", nid, "input"))
    if isinstance(data.target, int):
        if not ce:
            issues.append(Issue("data.target", "a class index target needs the cross_entropy loss",
                                s.output, "target"))
        elif not 0 <= data.target < out_size:
            issues.append(Issue("data.target", f"class {data.target} is outside the output's "
                                f"{out_size} units", s.output, "target"))
    elif len(data.target) != out_size:
        issues.append(Issue("data.target", f"output '{s.output}' has {out_size} units, target has "
                            f"{len(data.target)} values", s.output, "target"))


def _check_rule(config: Config, s: Structure, limits: Limits, issues: list[Issue]) -> None:
    from errorwave.rules import registry

    rule_cls = registry.get(config.rule.name)
    if rule_cls is None:
        issues.append(Issue("rule.name", f"unknown rule '{config.rule.name}'; known: "
                            + ", ".join(sorted(registry)), None, "name"))
        return
    settings_raw = config.rule.model_dump(exclude={"name"})
    try:
        settings = rule_cls.Settings.model_validate(settings_raw)
    except ValidationError as err:
        for e in err.errors():
            loc = tuple(e["loc"])  # empty for a check across fields
            issues.append(Issue(("rule." + _loc_to_path(loc)) if loc else "rule",
                                f"rule '{config.rule.name}': {e['msg']}", None,
                                str(loc[-1]) if loc else None))
        return
    steps = rule_cls.total_steps(settings, s)
    if steps > limits.max_steps:
        issues.append(Issue("rule.steps", f"{steps} steps exceed the limit of {limits.max_steps}",
                            None, "steps"))
    reason = rule_cls.unsupported(config, s)
    if reason:
        issues.append(Issue("rule.name", f"rule '{config.rule.name}' does not support this graph: {reason}",
                            None, "name"))
