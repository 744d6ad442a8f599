"""Turn untrusted JSON into a checked Config, or into issues that name node and field.

The schema (pydantic) checks types and ranges; the named checks below check what a
schema cannot express, in stages: each stage runs only when the one before found
nothing, because later stages need what earlier ones establish (known ids, an order,
sizes)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

import errorwave.rules as rules
from errorwave.config import Config, DatasetData, Limits, Node
from errorwave.issues import ConfigInvalid, Issue, IssueCode
from errorwave.structure import Structure

__all__ = ["ConfigInvalid", "Issue", "Structure", "check_config", "parse_config"]


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
            issues.append(Issue(_loc_to_path(tuple(e["loc"])), msg, node, fld, "schema"))
        raise ConfigInvalid(issues) from None
    except ValueError as err:  # malformed JSON text
        raise ConfigInvalid([Issue("", f"not valid JSON: {err}", code="json")]) from None
    structure = check_config(config, limits or Limits())
    return config, structure


def check_config(config: Config, limits: Limits) -> Structure:
    """The checks a schema cannot express. Raises ConfigInvalid with every issue found
    in the first stage that finds any."""
    checks = _Checks(config, limits)
    checks.stage(checks.node_count)
    checks.stage(checks.ids, checks.edges, checks.node_fields, checks.output)
    order = checks.topological_order()
    checks.stage()
    sizes = checks.sizes(order)
    checks.stage()
    nodes = config.graph.nodes
    parents = {n.id: list(n.inputs) for n in nodes}
    structure = Structure(order, sizes, parents, _children(nodes), config.graph.output,
                          [n.id for n in nodes if n.op == "input"])
    checks.stage(lambda: checks.params(structure), lambda: checks.data(structure),
                 lambda: checks.rule(structure))
    return structure


def _children(nodes: list[Node]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for src in n.inputs:
            children[src].append(n.id)
    return children


# Inputs each op takes: (fewest, most or None, in words).
_ARITY: dict[str, tuple[int, int | None, str]] = {
    "input": (0, 0, "no inputs"),
    "linear": (1, None, "at least one input"),
    "add": (2, None, "two or more inputs"),
    "mul": (2, None, "two or more inputs"),
}
_ELEMENTWISE_ARITY = (1, 1, "exactly one input")


class _Checks:
    """One configuration's named checks; each appends to `issues`."""

    def __init__(self, config: Config, limits: Limits):
        self.config, self.limits = config, limits
        self.nodes = config.graph.nodes
        self.index = {n.id: i for i, n in enumerate(self.nodes)}
        self.issues: list[Issue] = []

    def stage(self, *checks) -> None:
        for check in checks:
            check()
        if self.issues:
            raise ConfigInvalid(self.issues)

    def add(self, path: str, message: str, code: IssueCode, node: str | None = None,
            fld: str | None = None) -> None:
        self.issues.append(Issue(path, message, node, fld, code))

    def bad(self, i: int, fld: str, msg: str, code: IssueCode) -> None:
        nid = self.nodes[i].id
        self.add(f"graph.nodes[{i}].{fld}", f"node '{nid}': {msg}", code, nid, fld)

    # ----- stage 1: counts, ids, edges, per-node fields, the output --------------------------
    def node_count(self) -> None:
        if len(self.nodes) > self.limits.max_nodes:
            self.add("graph.nodes", f"{len(self.nodes)} nodes exceed the limit of "
                     f"{self.limits.max_nodes}", "limit")

    def ids(self) -> None:
        seen: set[str] = set()
        for i, n in enumerate(self.nodes):
            if n.id in seen:
                self.bad(i, "id", "duplicate id", "duplicate_id")
            seen.add(n.id)

    def edges(self) -> None:
        n_edges = sum(len(n.inputs) for n in self.nodes)
        if n_edges > self.limits.max_edges:
            self.add("graph.nodes", f"{n_edges} edges exceed the limit of {self.limits.max_edges}",
                     "limit")
        for i, n in enumerate(self.nodes):
            for src in n.inputs:
                if src not in self.index:
                    self.bad(i, "inputs", f"unknown input '{src}'", "unknown_input")
                elif src == n.id:
                    self.bad(i, "inputs", "takes itself as input (a cycle)", "cycle")
            if len(set(n.inputs)) != len(n.inputs):
                self.bad(i, "inputs", "lists an input twice", "arity")
            low, high, need = _ARITY.get(n.op, _ELEMENTWISE_ARITY)
            if len(n.inputs) < low or (high is not None and len(n.inputs) > high):
                self.bad(i, "inputs", f"op '{n.op}' takes {need}, got {len(n.inputs)}", "arity")

    def node_fields(self) -> None:
        for i, n in enumerate(self.nodes):
            if n.op in ("input", "linear") and n.size is None:
                self.bad(i, "size", f"op '{n.op}' needs a size", "missing_size")
            if n.size is not None and n.size > self.limits.max_units:
                self.bad(i, "size", f"{n.size} units exceed the limit of {self.limits.max_units}",
                         "limit")
            if n.op != "linear" and (n.input_activation != "identity" or n.activation != "identity"):
                fld = "activation" if n.activation != "identity" else "input_activation"
                self.bad(i, fld, f"activations apply to linear nodes only, not to op '{n.op}'",
                         "activation_op")

    def output(self) -> None:
        out = self.config.graph.output
        if out not in self.index:
            self.add("graph.output", f"output '{out}' is not a node", "output", None, "output")
        elif self.nodes[self.index[out]].op == "input":
            self.add("graph.output", "the output cannot be an input node", "output", out, "output")

    # ----- stage 2: an order ------------------------------------------------------------------
    def topological_order(self) -> list[str]:
        indegree = {n.id: len(n.inputs) for n in self.nodes}
        children = _children(self.nodes)
        ready = [n.id for n in self.nodes if indegree[n.id] == 0]
        order: list[str] = []
        while ready:
            nid = ready.pop(0)
            order.append(nid)
            for c in children[nid]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    ready.append(c)
        if len(order) < len(self.nodes):
            cycle = self._find_cycle(set(order))
            self.add("graph.nodes", "the graph has a cycle: " + " -> ".join(cycle), "cycle",
                     cycle[0], "inputs")
        return order

    def _find_cycle(self, acyclic: set[str]) -> list[str]:
        parents = {n.id: n.inputs for n in self.nodes}
        start = next(n.id for n in self.nodes if n.id not in acyclic)
        # Walk parents inside the cyclic remainder until a vertex repeats.
        path: list[str] = []
        seen: dict[str, int] = {}
        cur = start
        while cur not in seen:
            seen[cur] = len(path)
            path.append(cur)
            cur = next(p for p in parents[cur] if p not in acyclic)
        loop = path[seen[cur]:]
        loop.reverse()  # parents walked backward: show the flow direction
        return loop + [loop[0]]

    # ----- stage 3: sizes -------------------------------------------------------------------------
    def sizes(self, order: list[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for nid in order:
            i, n = self.index[nid], self.nodes[self.index[nid]]
            if n.op in ("input", "linear"):
                sizes[nid] = n.size or 1
                continue
            in_sizes = {src: sizes[src] for src in n.inputs}
            if len(set(in_sizes.values())) > 1:
                a, b = list(in_sizes)[:2]
                detail = ", ".join(f"'{k}' has {v}" for k, v in in_sizes.items())
                self.bad(i, "inputs", f"size mismatch between '{a}' and '{b}': {detail}",
                         "size_mismatch")
            size = next(iter(in_sizes.values()))
            if n.size is not None and n.size != size:
                self.bad(i, "size", f"size {n.size} does not match its input size {size}",
                         "size_mismatch")
            sizes[nid] = size
        return sizes

    # ----- stage 4: parameters, data, the rule ---------------------------------------------------
    def params(self, s: Structure) -> None:
        config = self.config
        total = sum(sum(s.sizes[n.id] * s.sizes[src] for src in n.inputs) + (s.sizes[n.id] if n.bias else 0)
                    for n in self.nodes if n.op == "linear")
        if total > self.limits.max_params:
            self.add("graph.nodes", f"{total} parameters exceed the limit of {self.limits.max_params}",
                     "limit")
        for nid, p in config.params.items():
            path = f"params.{nid}"
            if nid not in s.sizes:
                self.add(path, f"params given for unknown node '{nid}'", "params", nid)
                continue
            node = config.node(nid)
            if node.op != "linear":
                self.add(path, f"node '{nid}': op '{node.op}' has no parameters", "params", nid)
                continue
            rows = s.sizes[nid]
            for src, w in p.weight.items():
                if src not in node.inputs:
                    self.add(f"{path}.weight.{src}", f"node '{nid}': no edge from '{src}'", "params",
                             nid, "weight")
                    continue
                cols = s.sizes[src]
                if len(w) != rows or any(len(r) != cols for r in w):
                    got = f"{len(w)}x{len(w[0]) if w else 0}"
                    self.add(f"{path}.weight.{src}",
                             f"node '{nid}': weight from '{src}' must be {rows}x{cols} "
                             f"('{nid}' has {rows} units, '{src}' has {cols}), got {got}",
                             "params", nid, "weight")
            if p.bias is not None:
                if not node.bias:
                    self.add(f"{path}.bias", f"node '{nid}': has bias: false", "params", nid, "bias")
                elif len(p.bias) != rows:
                    self.add(f"{path}.bias", f"node '{nid}': bias must have {rows} entries, "
                             f"got {len(p.bias)}", "params", nid, "bias")

    def data(self, s: Structure) -> None:
        out_size = s.sizes[s.output]
        ce = self.config.graph.loss == "cross_entropy"
        if ce and out_size < 2:
            self.add("graph.loss", "cross_entropy needs an output of two or more units", "loss",
                     s.output, "loss")
        data = self.config.data
        if isinstance(data, DatasetData):
            self._dataset(s, data, out_size, ce)
            return
        for nid in s.inputs:
            if nid not in data.input:
                self.add(f"data.input.{nid}", f"no data for input node '{nid}'", "data", nid, "input")
            elif len(data.input[nid]) != s.sizes[nid]:
                self.add(f"data.input.{nid}", f"input '{nid}' has {s.sizes[nid]} units, data has "
                         f"{len(data.input[nid])} values", "data", nid, "input")
        for nid in data.input:
            if nid not in s.inputs:
                self.add(f"data.input.{nid}", f"'{nid}' is not an input node", "data", nid, "input")
        if isinstance(data.target, int):
            if not ce:
                self.add("data.target", "a class index target needs the cross_entropy loss", "data",
                         s.output, "target")
            elif not 0 <= data.target < out_size:
                self.add("data.target", f"class {data.target} is outside the output's "
                         f"{out_size} units", "data", s.output, "target")
        elif len(data.target) != out_size:
            self.add("data.target", f"output '{s.output}' has {out_size} units, target has "
                     f"{len(data.target)} values", "data", s.output, "target")

    def _dataset(self, s: Structure, data: DatasetData, out_size: int, ce: bool) -> None:
        from errorwave.datasets import dataset_shape  # lazily: the digits set is heavy

        n_features, n_classes = dataset_shape(data.dataset)
        name = data.dataset
        if len(s.inputs) != 1:
            self.add("data.dataset", f"dataset '{name}' needs exactly one input node, "
                     f"the graph has {len(s.inputs)}", "data", None, "dataset")
        elif s.sizes[s.inputs[0]] != n_features:
            self.add("data.dataset", f"dataset '{name}' has {n_features} features but "
                     f"input '{s.inputs[0]}' has {s.sizes[s.inputs[0]]} units", "data",
                     s.inputs[0], "size")
        if out_size != n_classes and not (out_size == 1 and n_classes == 2 and not ce):
            self.add("data.dataset", f"dataset '{name}' has {n_classes} classes but "
                     f"output '{s.output}' has {out_size} units", "data", s.output, "size")

    def rule(self, s: Structure) -> None:
        name = self.config.rule.name
        rule_cls = rules.registry.get(name)
        if rule_cls is None:
            self.add("rule.name", f"unknown rule '{name}'; known: " + ", ".join(sorted(rules.registry)),
                     "unknown_rule", None, "name")
            return
        try:
            settings = self.config.rule.settings_as(rule_cls.Settings)
        except ValidationError as err:
            for e in err.errors():
                loc = tuple(e["loc"])  # empty for a check across fields
                self.add(("rule." + _loc_to_path(loc)) if loc else "rule", f"rule '{name}': {e['msg']}",
                         "rule_setting", None, str(loc[-1]) if loc else None)
            return
        steps = rule_cls.total_steps(settings, s)
        if steps > self.limits.max_steps:
            self.add("rule.steps", f"{steps} steps exceed the limit of {self.limits.max_steps}", "limit",
                     None, "steps")
        reason = rule_cls.unsupported(self.config, s)
        if reason:
            self.add("rule.name", f"rule '{name}' does not support this graph: {reason}",
                     "unsupported_graph", None, "name")
