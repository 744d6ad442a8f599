"""The checked topology of a graph: what the compiler and the rules build on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Structure:
    order: list[str]  # topological order
    sizes: dict[str, int]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    output: str
    inputs: list[str]
    # Fewest and most edges from each vertex to the output (None: no path).
    shortest: dict[str, int | None] = field(default_factory=dict)
    longest: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.shortest:
            self.shortest, self.longest = distances_to_output(self)

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


def distances_to_output(s: Structure) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """Shortest and longest number of edges from each vertex to the output."""
    short: dict[str, int | None] = dict.fromkeys(s.order)
    long: dict[str, int | None] = dict.fromkeys(s.order)
    short[s.output] = long[s.output] = 0
    for nid in reversed(s.order):
        if nid == s.output:
            continue
        ds = [d for c in s.children[nid] if (d := short[c]) is not None]
        dl = [d for c in s.children[nid] if (d := long[c]) is not None]
        if ds:
            short[nid] = min(ds) + 1
            long[nid] = max(dl) + 1
    return short, long
