"""Sweeps: a grid of configurations x seeds, each trained (errorwave.training), gathered
into one tidy table (one row per run and epoch) and a report.

The runs go to a local process pool by default, or to a Ray cluster (`--ray ADDRESS`,
or RAY_ADDRESS): each run is a pure function of its configuration, computed on one
torch thread, so the table is the same wherever it ran. Ray is an optional extra
(`pip install errorwave[ray]`).

A spec (YAML or JSON):

    base: preset:ID | path/to/config.json | {an inline configuration}
    training: {epochs: 2, batch_size: 32}      # merged into the base's training settings
    grid:                                       # dotted paths, each with its values
      rule.name: [backprop, fpa]
      training.lr: [0.05, 0.1]
    seeds: [0, 1, 2]                             # seeds.init of each run
    metrics: true                                # divergence to backprop (off: faster)
"""

from __future__ import annotations

import copy
import csv
import html
import itertools
import json
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from errorwave.issues import ConfigInvalid

META = ("run", "seed")
RAY_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    base: str | dict[str, Any]
    training: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    metrics: bool = True


class Job(BaseModel):
    run: int
    seed: int
    point: dict[str, Any]  # the grid's values for this run
    config: dict[str, Any]
    metrics: bool


def load_spec(path: Path) -> SweepSpec:
    text = path.read_text()
    raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a sweep spec is a mapping (base, grid, seeds, ...)")
    spec = SweepSpec.model_validate(raw)
    if isinstance(spec.base, str) and not spec.base.startswith("preset:"):
        base = Path(spec.base)
        spec.base = json.loads((base if base.is_absolute() else path.parent / base).read_text())
    return spec


def _base_config(spec: SweepSpec) -> dict[str, Any]:
    if isinstance(spec.base, dict):
        return copy.deepcopy(spec.base)
    from errorwave.presets import get_preset

    found = get_preset(spec.base.removeprefix("preset:"))
    if found is None:
        raise ValueError(f"unknown preset {spec.base!r}")
    return copy.deepcopy(found)


def _set(config: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    target = config
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise ValueError(f"grid path {path!r}: {key!r} is not an object")
    target[keys[-1]] = value


def jobs(spec: SweepSpec) -> list[Job]:
    """Every grid point x seed, each configuration checked before anything runs."""
    from errorwave.validation import parse_config

    base = _base_config(spec)
    base["training"] = {**base.get("training", {}), **spec.training}
    names = list(spec.grid)
    out: list[Job] = []
    for values in itertools.product(*(spec.grid[n] for n in names)):
        point = dict(zip(names, values, strict=True))
        for seed in spec.seeds:
            config = copy.deepcopy(base)
            for path, value in point.items():
                _set(config, path, value)
            _set(config, "seeds.init", seed)
            try:
                parse_config(config)  # the rule's settings included
            except ConfigInvalid as err:
                raise ValueError(f"grid point {point}: " + "; ".join(
                    f"{i.path}: {i.message}" for i in err.issues)) from None
            except ValueError as err:
                raise ValueError(f"grid point {point}: {err}") from None
            out.append(Job(run=len(out), seed=seed, point=point, config=config, metrics=spec.metrics))
    return out


def run_job(job: Job | dict[str, Any]) -> list[dict[str, Any]]:
    """Train one configuration on one torch thread; one row per epoch."""
    from errorwave.training import Trainer
    from errorwave.training.tensors import threads

    job = Job.model_validate(job)
    with threads(1):
        trainer = Trainer(job.config, metrics=job.metrics)
        rows, cosines = [], []
        for row in trainer.batches():
            if row.get("type") != "epoch":
                cosines.append(row["cosine"])
                continue
            measured = [c for c in cosines if c is not None]
            epoch = {k: v for k, v in row.items() if k != "type"}
            epoch["cosine"] = statistics.fmean(measured) if measured else None
            rows.append({"run": job.run, "seed": job.seed, **job.point, **epoch})
            cosines = []
    return rows


def run_pool(all_jobs: list[Job], workers: int | None = None) -> list[dict[str, Any]]:
    workers = workers or min(len(all_jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [r for job in all_jobs for r in run_job(job)]
    # fork: the workers inherit the imported torch instead of importing it again
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        return [r for rows in pool.map(run_job, [j.model_dump() for j in all_jobs]) for r in rows]


def ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray backend needs the ray extra: pip install 'errorwave[ray]'") from None
    return ray


def run_ray(all_jobs: list[Job], address: str) -> list[dict[str, Any]]:
    """Each run a Ray task of one CPU. `address` "local" starts a private instance bound
    to 127.0.0.1; anything else joins that cluster (as ray.init(address=...) does)."""
    if address == "local":
        # Ray treats 127.0.0.1 as "this node" and binds its servers to the reachable address
        # unless clusters are off, which binds them (GCS, raylet, workers) to loopback. Read
        # when ray is imported, and by the processes it starts.
        os.environ[RAY_LOOPBACK_ENV] = "0"
    ray = ray_module()
    started = not ray.is_initialized()
    if started:
        if address == "local":
            ray.init(address="local", include_dashboard=False, num_cpus=2, _node_ip_address="127.0.0.1",
                     log_to_driver=False, configure_logging=False)
            if ray.util.get_node_ip_address() != "127.0.0.1":
                ray.shutdown()
                raise RuntimeError("the local Ray instance did not bind to 127.0.0.1 (ray was imported "
                                   f"before {RAY_LOOPBACK_ENV}=0 could take effect)")
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(run_job)
        results = ray.get([task.remote(j.model_dump()) for j in all_jobs])
    finally:
        if started:
            ray.shutdown()
    return [r for rows in results for r in rows]


def sweep(spec: SweepSpec, ray: str | None = None, workers: int | None = None) -> list[dict[str, Any]]:
    """The tidy table: rows ordered by run, then epoch."""
    all_jobs = jobs(spec)
    rows = run_ray(all_jobs, ray) if ray else run_pool(all_jobs, workers)
    return sorted(rows, key=lambda r: (r["run"], r["epoch"]))


def write_table(rows: list[dict[str, Any]], path: Path) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if path.suffix == ".parquet":
        try:
            import pandas as pd

            pd.DataFrame(rows, columns=columns).to_parquet(path, index=False)
        except ImportError as err:
            raise RuntimeError(f"writing Parquet needs pandas and pyarrow ({err}); "
                               "write .csv instead") from None
        return path
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_report(rows: list[dict[str, Any]], spec: SweepSpec, path: Path) -> Path:
    """Final test accuracy of every grid point (mean over seeds, each seed a dot)."""
    import plotly.graph_objects as go

    names = list(spec.grid)
    last = max(r["epoch"] for r in rows)
    final = [r for r in rows if r["epoch"] == last]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in final:
        label = ", ".join(f"{n}={r[n]}" for n in names) or "base"
        groups.setdefault(label, []).append(r)
    fig = go.Figure()
    labels = list(groups)
    acc = [[g["test_accuracy"] for g in groups[label] if g["test_accuracy"] is not None]
           for label in labels]
    fig.add_trace(go.Bar(x=labels, y=[statistics.fmean(a) if a else None for a in acc],
                         name="test accuracy (mean over seeds)"))
    fig.add_trace(go.Scatter(x=[label for label, a in zip(labels, acc, strict=True) for _ in a],
                             y=[v for a in acc for v in a], mode="markers", name="each seed"))
    fig.update_layout(title=f"Sweep: test accuracy after epoch {last}", yaxis_title="test accuracy")
    table = "".join(f"<tr><td>{html.escape(label)}</td><td>{len(groups[label])}</td>"
                    f"<td>{statistics.fmean(a) if a else float('nan'):.4f}</td></tr>"
                    for label, a in zip(labels, acc, strict=True))
    path.write_text("<!doctype html><html><head><meta charset='utf-8'><title>Sweep</title></head>"
                    "<body style='font-family:sans-serif'><h1>Sweep</h1>"
                    "<table><tr><th>grid point</th><th>seeds</th><th>test accuracy</th></tr>"
                    f"{table}</table>{fig.to_html(include_plotlyjs=True, full_html=False)}</body></html>")
    return path
