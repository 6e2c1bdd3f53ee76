"""Command line: ``python -m grokjax
sweep|validate|classify|report|plot|explore|status|settings|stats|predict``.

Bad input (a wrong sweep file, a results folder that is missing, locked or mixed) prints one
``error:`` line naming the file and key and exits with status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _add_sweep(sub) -> None:
    p = sub.add_parser("sweep", help="train every run of a sweep file (resumes where it stopped)")
    p.add_argument("spec", help="sweeps/NAME.toml, or a bare NAME found in sweeps/")
    p.add_argument("--out", help="results folder (default: results/NAME)")
    p.add_argument("--restart", action="store_true",
                   help="discard the folder's existing rows instead of resuming")
    p.add_argument("--quick", action="store_true",
                   help="the file's [quick] variant (seconds on a CPU) -> results/NAME_quick")
    p.add_argument("--chunk-size", type=int, help="runs vmapped together (default: per backend)")
    p.add_argument("--workers", type=int,
                   help="processes on this host (default: one pinned per core on CPU, 1 on "
                        "GPU/TPU)")
    p.add_argument("--memory-budget", help="bytes for one chunk, e.g. 2GiB (default: a safe "
                                           "share of the device's memory)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="train on a Ray cluster: ADDRESS (e.g. auto, ray://head:10001) "
                        "connects to a running one; without ADDRESS a local one is started (give "
                        "--ray after the sweep file)")
    p.add_argument("--shard", metavar="I/N",
                   help="job arrays: train only slice I of N of the chunk plan (0 <= I < N) "
                        "into the shared --out folder")
    p.add_argument("--coordinator", help="jax.distributed (TPU pod slices): HOST:PORT of "
                                         "process 0 (or GROKJAX_COORDINATOR)")
    p.add_argument("--num-processes", type=int, help="multi-host: number of processes")
    p.add_argument("--process-id", type=int, help="multi-host: this process's id, 0..N-1")
    p.add_argument("--allow-huge", action="store_true",
                   help="accept a sweep of more than 1,000,000 runs")
    p.add_argument("--quiet", action="store_true", help="no progress bar (CI, logs)")
    p.add_argument("--no-report", action="store_true", help="skip writing index.html")


def _add_classify(sub) -> None:
    p = sub.add_parser("classify", help="re-label existing results under another rule")
    p.add_argument("results", help="results/NAME")
    p.add_argument("--rule", choices=("loss", "accuracy"), default=None)
    for flag in ("min-train", "min-test", "ratio", "floor", "threshold"):
        p.add_argument(f"--{flag}", type=float)
    p.add_argument("--delay", type=int)
    p.add_argument("--no-report", action="store_true", help="do not re-render index.html")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="grokjax", description="Sweeps of grokking experiments.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    _add_sweep(sub)
    v = sub.add_parser("validate", help="check a sweep file; print its runs and groups")
    v.add_argument("spec")
    v.add_argument("--quick", action="store_true", help="the file's [quick] variant")
    v.add_argument("--allow-huge", action="store_true",
                   help="accept a sweep of more than 1,000,000 runs")
    _add_classify(sub)
    r = sub.add_parser("report", help="write results/NAME/index.html (and PNGs)")
    r.add_argument("results")
    for axis in ("x", "y", "facet"):
        r.add_argument(f"--{axis}", help=f"axis for {axis} (default: chosen from the sweep)")
    r.add_argument("--no-png", action="store_true")
    r.add_argument("--no-explorers", action="store_true",
                   help="skip the per-run explorer pages (written by default for <= 64 runs)")
    pl = sub.add_parser("plot", help="curves of chosen runs as PNG/SVG/HTML "
                                     "(one line per run, coloured by a setting)")
    pl.add_argument("results")
    pl.add_argument("--metric", action="append", dest="metrics",
                    help="a logged curve (repeat for several panels; default: train_acc, "
                         "test_acc)")
    pl.add_argument("--color", help="setting column that colours the lines, e.g. reg")
    pl.add_argument("--facet", help="setting column with one row of panels per value")
    pl.add_argument("--where", help="runs whose settings match, e.g. 'weight_decay == 0.1 and "
                                    "reg in [\"l1\", \"l2\"]' (comparisons of columns with "
                                    "literals, and / or / not)")
    pl.add_argument("--log", action="append", help="metric on a log axis (default: losses)")
    pl.add_argument("--title")
    pl.add_argument("--out", required=True, help="output file: .png, .svg, .html or .json")
    e = sub.add_parser("explore", help="write the explorer page of one run "
                                       "(results/NAME/explore/RUN_ID.html)")
    e.add_argument("results")
    e.add_argument("run_id", nargs="?", help="the run (omit with --all)")
    e.add_argument("--all", action="store_true",
                   help="every run with parameter snapshots (at most 200 pages)")
    s = sub.add_parser("status", help="how many runs of a results folder are done, by phase")
    s.add_argument("results")
    st = sub.add_parser("settings", help="list every setting a sweep file may use")
    st.add_argument("--task", help="only this task's settings (and its models')")
    st.add_argument("--plugin", action="append", default=[],
                    help="a plugin file whose components to list too (repeatable)")
    from grokjax.predict import command as predict_command
    from grokjax.stats import command as stats_command

    stats_command.add_parser(sub)
    predict_command.add_parser(sub)
    return ap


def _sweep(args) -> int:
    from grokjax.distributed import initialize
    from grokjax.engine import run_sweep
    from grokjax.errors import SpecError
    from grokjax.options import parse_bytes
    from grokjax.shards import parse_shard
    from grokjax.spec import load_spec

    spec = load_spec(args.spec, allow_huge=args.allow_huge)
    if args.quick:
        spec = spec.quick()
    options = spec.engine
    for flag in ("chunk_size", "workers"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise SpecError("command line", f"--{flag.replace('_', '-')}", "must be >= 1")
    try:
        budget = parse_bytes(args.memory_budget) if args.memory_budget is not None else None
    except ValueError as e:
        raise SpecError("command line", "--memory-budget", str(e)) from None
    if (args.ray is not None or options.backend == "ray") and (
            args.coordinator or args.num_processes is not None or args.process_id is not None):
        raise SpecError("command line", "--ray", "Ray schedules the whole sweep from one "
                        "driver: drop --coordinator/--num-processes/--process-id")
    try:
        cluster = initialize(args.coordinator, args.num_processes, args.process_id)
    except ValueError as e:
        raise SpecError("command line", "", str(e)) from None
    if args.ray is not None:
        if args.ray.strip() != args.ray or args.ray.startswith("-"):
            raise SpecError("command line", "--ray", f"{args.ray!r}: allowed: nothing (start a "
                            "local cluster) or a Ray address such as auto or ray://HOST:10001")
        options = options.replace(backend="ray", ray_address=args.ray or None)
    shard = parse_shard(args.shard) if args.shard is not None else None
    options = options.replace(chunk_size=args.chunk_size, workers=args.workers,
                              memory_budget=budget)
    if spec.adaptive is not None:  # round after round (grokjax.adaptive_sweep)
        from grokjax.adaptive_sweep import run_adaptive as run_sweep
    report = run_sweep(spec, args.out, options=options, restart=args.restart,
                       quiet=args.quiet, report=not args.no_report, cluster=cluster,
                       shard=shard)
    if args.quiet:
        print(report.line())
    return 0


def _validate(args) -> int:
    from grokjax.engine import estimate_runs
    from grokjax.spec import load_spec

    spec = load_spec(args.spec, allow_huge=args.allow_huge)
    if args.quick:
        spec = spec.quick()
    est = estimate_runs(spec)
    print(f"{spec.source}: ok -- {est['runs']} runs in {est['groups']} compiled groups, "
          f"{est['chunks']} chunks of up to {est['chunk_size']} runs, {est['workers']} "
          f"workers, {est['model_steps']:,} model-steps; varying: "
          f"{', '.join(spec.varying) or 'none'}")
    if spec.adaptive is not None:
        from grokjax.adaptive_sweep import describe

        print(describe(spec))
    return 0


def _classify(args) -> int:
    from grokjax import locks, phases, store

    manifest = store.read_manifest(args.results)
    options = {"rule": args.rule or manifest.get("phase_rule", "loss")}
    names = {"min_train": args.min_train, "min_test": args.min_test, "ratio": args.ratio,
             "floor": args.floor, "threshold": args.threshold, "delay": args.delay}
    if args.rule is None or args.rule == manifest.get("phase_rule"):
        options.update(manifest.get("phase_params", {}))
    options.update({k: v for k, v in names.items() if v is not None})
    rule = phases.rule_from_options(options, source="command line")
    results = store.resolve_dir(args.results)
    with locks.folder_lock(results):
        manifest.update(phase_rule=rule.name, phase_params=rule.params())
        n = store.rewrite_parts(results, lambda df: phases.classify_frame(df, rule), manifest)
    counts = store.load_results(results)["phase"].value_counts().to_dict()
    print(f"{results}: {n} runs re-labelled with the {rule.name} rule {rule.params()}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if not args.no_report:
        from grokjax.report import write_report

        print(f"report: {write_report(results)}")
    return 0


def _report(args) -> int:
    from grokjax.report import write_report

    print(write_report(args.results, x=args.x, y=args.y, facet=args.facet,
                       png=not args.no_png, explorers=False if args.no_explorers else None))
    return 0


def _explore(args) -> int:
    from grokjax.errors import SpecError
    from grokjax.report.explorer import write_explorer, write_explorers

    if args.all == (args.run_id is not None):
        raise SpecError("command line", "explore", "give a RUN_ID or --all (not both)")
    paths = write_explorers(args.results) if args.all else [write_explorer(args.results,
                                                                            args.run_id)]
    print("\n".join(map(str, paths)) or "no run has parameter snapshots")
    return 0


def _plot(args) -> int:
    from grokjax import store
    from grokjax.report.curve_data import display_floor
    from grokjax.report.plots import LOG_METRICS, curves_chart, save_chart
    from grokjax.where import select_rows

    df = store.load_results(args.results)
    if args.where is not None:
        df = select_rows(df, args.where)
    for name in (args.color, args.facet):
        if name and name not in df.columns:
            raise store.ResultsError(f"{args.results}: no column {name!r} to colour or facet by")
    manifest = store.read_manifest(args.results)
    chart = curves_chart(df, args.metrics or ("train_acc", "test_acc"), color=args.color,
                         facet=args.facet, title=args.title,
                         log=tuple(args.log) if args.log else LOG_METRICS,
                         floor=display_floor(manifest.get("phase_params") or {}))
    print(save_chart(chart, args.out))
    return 0


def _status(args) -> int:
    from grokjax import shards, store

    manifest = store.read_manifest(args.results)
    folder = store.resolve_dir(args.results)
    done = store.done_run_ids(folder)
    print(f"{args.results}: {len(done)} of {manifest.get('n_runs', '?')} runs done "
          f"(sweep {manifest.get('sweep')}, spec {manifest.get('spec_hash')})")
    line = shards.describe(folder, manifest.get("spec_hash"))
    if line:
        print(line)
    if done:
        df = store.load_results(args.results)
        print(df.groupby("phase").size().to_string())
    return 0


def _settings(args) -> int:
    from grokjax import registry
    from grokjax.errors import SpecError
    from grokjax.spec import describe_settings

    for flag, action in (("--plugin", lambda: registry.load_plugins(args.plugin)),
                         ("--task", lambda: args.task and registry.get("task", args.task))):
        try:
            action()
        except registry.RegistryError as e:
            hint = ("; a plugin's task is listed with --plugin FILE, e.g. settings --plugin "
                    f"my_task.py --task {args.task}" if flag == "--task" else "")
            raise SpecError("command line", flag, str(e) + hint) from None
    print(describe_settings(args.task))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from grokjax.errors import PlanError, SpecError
    from grokjax.predict import command as predict_command
    from grokjax.stats import command as stats_command
    from grokjax.store import ResultsError
    from grokjax.workers import WorkerError

    handlers = {"sweep": _sweep, "validate": _validate, "classify": _classify,
                "report": _report, "plot": _plot, "explore": _explore, "status": _status,
                "settings": _settings, "stats": stats_command.run,
                "predict": predict_command.run}
    try:
        return handlers[args.cmd](args)
    except (SpecError, ResultsError, PlanError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (WorkerError, TimeoutError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: rows already written are kept; run the same command again to "
              "resume", file=sys.stderr)
        return 130
