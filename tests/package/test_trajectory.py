"""Engine.trajectory() against the frames it summarises, the plots against the trajectory,
and the notebook's permalink and configuration errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from errorwave import ConfigInvalid, Engine, cli, plots
from errorwave.notebook import decode_config, encode_config, permalink, resolve_config
from errorwave.presets import get_preset
from errorwave.trajectory import COLUMNS, HEADER, to_dataframe
from tests.engine.builders import mlp


def test_rows_are_the_frames_one_per_step_node_and_unit() -> None:
    reference = Engine(get_preset("zil-mlp"))
    frames = [reference.frame, *reference.run()]
    df = Engine(get_preset("zil-mlp")).trajectory()
    assert tuple(df.columns) == COLUMNS and tuple(df.columns[:7]) == HEADER
    assert df["t"].dtype == np.int64 and df["unit"].dtype == np.int64
    assert df["value"].dtype == np.float64
    sizes = {n: len(v["value"]) for n, v in frames[0]["nodes"].items()}
    assert len(df) == len(frames) * sum(sizes.values())
    for frame in frames:
        at = df[df["t"] == frame["t"]]
        for node, lists in frame["nodes"].items():
            rows = at[at["node"] == node].sort_values("unit")
            assert rows["unit"].tolist() == list(range(sizes[node]))
            for key in ("value", "prediction", "error"):
                assert rows[key].tolist() == lists[key]  # float64, full precision
            div = frame["divergence"]["nodes"].get(node)
            if div is None:
                assert rows["div_rel_l2"].isna().all()
            else:
                assert (rows["div_rel_l2"] == div["rel_l2"]).all()
            fired = any(e["kind"] == "plasticity" and e["node"] == node for e in frame["events"])
            assert (rows["plasticity"] == fired).all()
        assert (at["energy"] == frame["energy"]).all()
        assert (at["total_cosine"] == frame["divergence"]["total"]["cosine"]).all()
    assert df.attrs["inputs"] == ["x"] and df.attrs["order"][0] == "y"


def test_several_examples_learn_between_them() -> None:
    engine = Engine(get_preset("zil-mlp"))
    df = engine.trajectory(examples=3)
    assert sorted(set(df["example"])) == [0, 1, 2]
    assert len(engine.history) == 2
    first = df[(df["example"] == 0) & (df["t"] == 0) & (df["node"] == "y")]["prediction"].tolist()
    third = df[(df["example"] == 2) & (df["t"] == 0) & (df["node"] == "y")]["prediction"].tolist()
    assert first != third
    with pytest.raises(ValueError, match="at least 1"):
        Engine(get_preset("zil-mlp")).trajectory(examples=0)


def test_the_cli_jsonl_gives_the_same_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "preset:zil-mlp", "--jsonl"]) == 0
    out = capsys.readouterr().out
    messages = [json.loads(line) for line in out.splitlines()]
    from_cli = to_dataframe(messages[1:], messages[0])
    direct = Engine(get_preset("zil-mlp")).trajectory()
    assert from_cli.equals(direct)


def test_plots_draw_the_trajectory() -> None:
    df = Engine(get_preset("zil-mlp")).trajectory()
    fig = plots.divergence(df, "cosine")
    lines = {t.name: list(t.y) for t in fig.data}
    assert list(lines) == ["y", "h2", "h1", "all params"]
    h1 = df[(df["node"] == "h1") & (df["unit"] == 0)]
    assert lines["h1"] == h1["div_cosine"].tolist()
    assert list(plots.energy(df).data[0].y) == df.groupby("t")["energy"].first().tolist()
    timing = {t.name: t for t in plots.timing(df).data}
    arrived = dict(zip(timing["error arrived"].y, timing["error arrived"].x, strict=True))
    for node, t in arrived.items():
        nonzero = df[(df["node"] == node) & (df["error"] != 0)]["t"]
        assert t == nonzero.min()
    assert arrived == {"y": 0, "h2": 1, "h1": 2}  # Z-IL: one node per step
    fired = set(zip(timing["plasticity"].y, timing["plasticity"].x, strict=True))
    assert fired == {(n, int(t)) for n, t in df[df["plasticity"]][["node", "t"]].drop_duplicates()
                     .itertuples(index=False)}


def test_many_nodes_draw_a_heatmap_and_bad_input_is_refused() -> None:
    df = Engine(mlp(14, seed=1, rule={"name": "backprop"})).trajectory()
    fig = plots.divergence(df)
    assert [t.type for t in fig.data] == ["heatmap", "scatter"]
    assert fig.data[0].y[-1] == "y"  # the output on top
    with pytest.raises(ValueError, match="metric"):
        plots.divergence(df, "angle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no example 7"):
        plots.energy(df, example=7)
    with pytest.raises(ValueError, match="not a trajectory"):
        plots.timing(df[["t", "node"]])


def test_permalink_and_configurations_for_show() -> None:
    config = resolve_config("preset:zil-mlp")
    assert resolve_config("zil-mlp") == config == resolve_config(Engine(get_preset("zil-mlp")))
    assert decode_config(encode_config(config)) == config
    link = permalink(config, t=3, selected="h2", presenter=True)
    assert link.startswith("v=1&c=") and link.endswith("&t=3&sel=h2&pm=1")
    with pytest.raises(ConfigInvalid, match="no preset 'nope'"):
        resolve_config("nope")
    with pytest.raises(ConfigInvalid):
        resolve_config({"graph": {}})
