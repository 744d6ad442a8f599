"""A sweep gives the same table on the local process pool and through a local Ray."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from errorwave import cli
from errorwave.sweep import SweepSpec, jobs, sweep, write_table
from errorwave.training.configs import mlp


def spec(**overrides) -> SweepSpec:
    base = mlp("circles", [4], {"name": "backprop"}, loss="mse", samples=48)
    raw = {"base": base, "training": {"epochs": 2, "batch_size": 8, "max_examples": 24},
           "grid": {"rule.name": ["backprop", "fpa"], "training.optimiser": ["sgd", "adam"]},
           "seeds": [0, 1]} | overrides
    return SweepSpec.model_validate(raw)


def test_pool_and_ray_give_the_same_table() -> None:
    if importlib.util.find_spec("ray") is None:  # not imported here: run_ray sets its env first
        pytest.skip("ray is not installed (make test installs it)")
    s = spec()
    pool = sweep(s, workers=2)
    assert len(pool) == 2 * 2 * 2 * 2  # grid x seeds x epochs
    assert {r["rule.name"] for r in pool} == {"backprop", "fpa"}
    assert all(r["test_accuracy"] is not None for r in pool)
    # backprop's runs are backprop's reference runs: distance 0; fpa's are not
    assert all(r["distance"] == 0 for r in pool if r["rule.name"] == "backprop")
    assert any(r["distance"] > 0 for r in pool if r["rule.name"] == "fpa")
    through_ray = sweep(s, ray="local")
    assert through_ray == pool
    import ray

    assert ray.util.get_node_ip_address() == "127.0.0.1"  # what the servers bound to
    assert sweep(s, workers=1) == pool


def test_a_bad_grid_point_is_named_before_anything_runs() -> None:
    with pytest.raises(ValueError, match=r"grid point .*training.batch_size"):
        jobs(spec(grid={"training.batch_size": [4, 0]}))


def test_cli_writes_the_table_and_the_report(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(grid={"rule.name": ["backprop", "pc"]}, seeds=[3]).model_dump()))
    out = tmp_path / "table.csv"
    assert cli.main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["rule.name"], r["seed"], r["epoch"]) for r in rows] == [
        ("backprop", "3", "1"), ("backprop", "3", "2"), ("pc", "3", "1"), ("pc", "3", "2")]
    assert "plotly" in (tmp_path / "table.html").read_text()


def test_parquet_and_csv_hold_the_same_table(tmp_path: Path) -> None:
    """`make test` installs the [parquet] extra; the Parquet table reads back equal to the CSV."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows = [{"run": 0, "rule.name": "pc", "epoch": 1, "loss": 0.1234567890123456789, "test_accuracy": None},
            {"run": 1, "rule.name": "fpa", "epoch": 2, "loss": 2.5e-17, "test_accuracy": 0.75}]
    table = pd.read_parquet(write_table(rows, tmp_path / "t.parquet"))
    from_csv = pd.read_csv(write_table(rows, tmp_path / "t.csv"))
    assert list(table.columns) == ["run", "rule.name", "epoch", "loss", "test_accuracy"]
    pd.testing.assert_frame_equal(table, from_csv, check_exact=True)
    assert table["loss"][0] == rows[0]["loss"]  # float64, not text
