"""Command line: `errorwave run|export|validate|serve|schema|reproduce|sweep`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from errorwave import package_version
from errorwave.engine import Engine, to_json
from errorwave.presets import get_preset
from errorwave.validation import ConfigInvalid


def _read_config(source: str) -> Any:
    """A path to a JSON file, or `preset:ID`."""
    if source.startswith("preset:"):
        found = get_preset(source.removeprefix("preset:"))
        if found is None:
            raise ConfigInvalid([])  # replaced by the caller's message
        return found
    return json.loads(Path(source).read_text())


def _apply_overrides(raw: dict[str, Any], args: argparse.Namespace) -> None:
    rule = raw.setdefault("rule", {})
    if getattr(args, "rule", None):
        raw["rule"] = rule = {"name": args.rule}
    if getattr(args, "steps", None) is not None:
        rule["steps"] = args.steps
    for item in getattr(args, "set", None) or []:
        path, _, text = item.partition("=")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        target = raw
        keys = path.split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value


def _fail(message: str) -> int:
    print(f"errorwave: {message}", file=sys.stderr)
    return 2


def _load(args: argparse.Namespace) -> Engine | int:
    try:
        raw = _read_config(args.config)
    except (OSError, json.JSONDecodeError) as err:
        return _fail(f"cannot read {args.config}: {err}")
    except ConfigInvalid:
        return _fail(f"unknown preset {args.config!r}")
    if not isinstance(raw, dict):
        return _fail("a configuration is a JSON object")
    _apply_overrides(raw, args)
    try:
        return Engine(raw)
    except ConfigInvalid as err:
        return _fail("invalid configuration: " + "; ".join(
            f"{i.path}: {i.message}" if i.path else i.message for i in err.issues))


def cmd_run(args: argparse.Namespace) -> int:
    engine = _load(args)
    if isinstance(engine, int):
        return engine
    examples = max(1, args.examples)
    for n in range(examples):
        if n and engine.next_example() is None:
            break
        if args.jsonl:
            print(to_json(engine.snapshot()))
            print(to_json(engine.frame))
            for frame in engine.run():
                print(to_json(frame))
        else:
            engine.run()
            f = engine.frame
            tot = f["divergence"]["total"]
            print(f"example {n}: rule {engine.rule_cls.name}, T={f['t']}, energy {f['energy']:.6g}, "
                  f"loss {engine.loss:.6g}, update cosine to backprop {tot['cosine']}, "
                  f"rel_l2 {tot['rel_l2']}")
        if engine.halted:
            h = engine.halted
            print(f"errorwave: {h['kind']} at node {h['node']!r} (step {h['t']})", file=sys.stderr)
            return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from errorwave.export import export

    if not (args.csv or args.html):
        return _fail("export writes --csv FILE and/or --html FILE: name at least one")
    engine = _load(args)
    if isinstance(engine, int):
        return engine
    try:
        written = export(engine, args.csv and Path(args.csv), args.html and Path(args.html))
    except (OSError, ImportError) as err:
        return _fail(str(err))
    print("wrote " + " and ".join(map(str, written)))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    engine = _load(args)
    if isinstance(engine, int):
        return engine
    print(f"ok: {len(engine.structure.order)} nodes, rule {engine.rule_cls.name}, T={engine.steps}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from errorwave.server.app import serve

    serve(host=args.host, port=args.port)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from errorwave.schema import write_schemas

    for path in write_schemas(Path(args.out) if args.out else None):
        print(path)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from errorwave.reproduce import NAMES, reproduce

    if args.name not in NAMES:
        return _fail(f"no reproduction {args.name!r}; choose one of {', '.join(NAMES)}")
    report = reproduce(args.name, fast=args.fast, out=Path(args.out))
    for text, ok in report.checks:
        print(f"{'ok  ' if ok else 'FAIL'} {text}")
    print(report.headline)
    print(f"wrote {Path(args.out) / (args.name + '.html')} and {Path(args.out) / (args.name + '.csv')}")
    return 0 if report.ok else 1


def cmd_sweep(args: argparse.Namespace) -> int:
    import os

    from errorwave.sweep import load_spec, sweep, write_report, write_table

    try:
        spec = load_spec(Path(args.spec))
        rows = sweep(spec, ray=args.ray or os.environ.get("RAY_ADDRESS"), workers=args.workers)
    except (OSError, ValueError, RuntimeError) as err:
        return _fail(str(err))
    table = write_table(rows, Path(args.out))
    report = write_report(rows, spec, Path(args.out).with_suffix(".html"))
    print(f"{len(rows)} rows: wrote {table} and {report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="errorwave", description=__doc__)
    parser.add_argument("--version", action="version", version=f"errorwave {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a configuration (a JSON file or preset:ID)")
    run.add_argument("config")
    run.add_argument("--rule")
    run.add_argument("--steps", type=int)
    run.add_argument("--set", action="append", metavar="PATH=VALUE",
                     help="override a field, e.g. rule.gamma=0.5 (value parsed as JSON)")
    run.add_argument("--jsonl", action="store_true", help="print the snapshot, then one frame per line")
    run.add_argument("--examples", type=int, default=1, help="learn on this many examples in turn")
    run.set_defaults(func=cmd_run)
    exp = sub.add_parser("export", help="write the run `run --jsonl` prints as CSV and/or an HTML "
                         "report of its charts")
    exp.add_argument("config")
    exp.add_argument("--csv", metavar="FILE", help="example,t,node,unit,value,prediction,error")
    exp.add_argument("--html", metavar="FILE", help="self-contained plotly report (needs pandas)")
    exp.add_argument("--rule")
    exp.add_argument("--steps", type=int)
    exp.add_argument("--set", action="append", metavar="PATH=VALUE")
    exp.set_defaults(func=cmd_export)
    val = sub.add_parser("validate", help="check a configuration")
    val.add_argument("config")
    val.add_argument("--rule")
    val.add_argument("--steps", type=int)
    val.add_argument("--set", action="append", metavar="PATH=VALUE")
    val.set_defaults(func=cmd_validate)
    serve = sub.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    schema = sub.add_parser("schema", help="export the JSON Schemas to shared/schema/")
    schema.add_argument("--out")
    schema.set_defaults(func=cmd_schema)
    rep = sub.add_parser("reproduce", help="regenerate a paper's figure: NAME.html and NAME.csv")
    rep.add_argument("name", help="zil-ablation | fpa-steps | pc-variance | fa-alignment")
    rep.add_argument("--fast", action="store_true", help="a small version (under a minute)")
    rep.add_argument("--out", default=".", help="folder for NAME.html and NAME.csv (default: here)")
    rep.set_defaults(func=cmd_reproduce)
    swp = sub.add_parser("sweep", help="train a grid of configurations x seeds into one table")
    swp.add_argument("spec", help="a YAML (or JSON) sweep spec")
    swp.add_argument("--out", default="sweep.csv", help="the table: .csv or .parquet (report beside it)")
    swp.add_argument("--ray", metavar="ADDRESS", help="run on this Ray cluster ('local': a private one)")
    swp.add_argument("--workers", type=int, help="local processes (default: one per CPU)")
    swp.set_defaults(func=cmd_sweep)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
