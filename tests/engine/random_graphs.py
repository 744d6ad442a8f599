"""A hypothesis strategy for random configurations: DAGs with every op and activation,
both linear forms, several inputs, outputs with children, vertices with no path to the
output, both losses, float32 and float64."""

from __future__ import annotations

from typing import Any, get_args

from hypothesis import strategies as st

from errorwave.config import Activation

FUNCTIONS = [a for a in get_args(Activation)]  # also the elementwise ops


@st.composite
def configs(draw: st.DrawFn, dtype: str | None = None) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    data: dict[str, list[float]] = {}
    unit = st.floats(-1.5, 1.5, allow_nan=False, width=32)
    for i in range(draw(st.integers(1, 2))):
        size = draw(st.integers(1, 3))
        nodes.append({"id": f"x{i}", "op": "input", "size": size})
        sizes[f"x{i}"] = size
        data[f"x{i}"] = draw(st.lists(unit, min_size=size, max_size=size))
    for j in range(draw(st.integers(1, 6))):
        nid, ids = f"v{j}", list(sizes)
        same_size = [[n for n in ids if sizes[n] == s] for s in set(sizes.values())]
        pairs = [g for g in same_size if len(g) >= 2]
        kind = draw(st.sampled_from(["linear", "linear", "linear", "add", "mul", "function"]))
        if kind in ("add", "mul") and not pairs:
            kind = "function"
        if kind == "linear":
            srcs = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))
            node: dict[str, Any] = {"id": nid, "op": "linear", "inputs": srcs,
                                    "size": draw(st.integers(1, 3)), "bias": draw(st.booleans())}
            act = draw(st.sampled_from(FUNCTIONS))
            node[draw(st.sampled_from(["activation", "input_activation"]))] = act  # form B or A
            if act == "leaky_relu":
                node["negative_slope"] = draw(st.sampled_from([0.01, 0.2]))
        elif kind in ("add", "mul"):
            group = draw(st.sampled_from(pairs))
            srcs = draw(st.lists(st.sampled_from(group), min_size=2, max_size=2, unique=True))
            node = {"id": nid, "op": kind, "inputs": srcs}
        else:
            node = {"id": nid, "op": draw(st.sampled_from(FUNCTIONS)),
                    "inputs": [draw(st.sampled_from(ids))]}
        nodes.append(node)
        sizes[nid] = node.get("size") or sizes[node["inputs"][0]]
    hidden = [n["id"] for n in nodes if n["op"] != "input"]
    output = draw(st.sampled_from(hidden))  # any vertex: later ones become its children
    loss = "cross_entropy" if sizes[output] >= 2 and draw(st.booleans()) else "mse"
    target: Any = (draw(st.integers(0, sizes[output] - 1)) if loss == "cross_entropy"
                   else draw(st.lists(unit, min_size=sizes[output], max_size=sizes[output])))
    return {"version": 1, "graph": {"nodes": nodes, "output": output, "loss": loss},
            "data": {"input": data, "target": target}, "rule": {"name": "backprop"},
            "seeds": {"init": draw(st.integers(0, 2 ** 16))},
            "dtype": dtype or draw(st.sampled_from(["float64", "float32"]))}


def equal_path_lengths(structure) -> bool:
    """Every path from each vertex to the output has one length (Z-IL's exact case)."""
    return all(structure.shortest[n] == structure.longest[n] for n in structure.order)
