"""What validation reports: issues that name the path, node and field, each with a
machine-readable code (callers branch on the code, never on the English message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

IssueCode = Literal[
    "json",               # not valid JSON text
    "schema",             # a field of the wrong type, unknown, missing or out of range
    "limit",              # more nodes, edges, units, parameters or steps than allowed
    "duplicate_id",
    "unknown_input",      # an edge from a node that does not exist
    "cycle",
    "arity",              # an op with the wrong number of inputs
    "missing_size",
    "activation_op",      # an activation on a node that is not linear
    "output",             # the output is missing or an input
    "size_mismatch",
    "params",             # explicit parameters that do not fit the graph
    "loss",
    "data",               # input data or target that do not fit the graph
    "unknown_rule",
    "rule_setting",
    "unsupported_graph",  # the rule cannot run on this graph
]


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    node: str | None = None
    field: str | None = None
    code: IssueCode = "schema"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "node": self.node, "field": self.field, "message": self.message,
                "code": self.code}


class ConfigInvalid(ValueError):
    """A configuration failed validation; `issues` says where and why."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.path}: {i.message}" for i in issues))

    @property
    def codes(self) -> set[str]:
        return {i.code for i in self.issues}
