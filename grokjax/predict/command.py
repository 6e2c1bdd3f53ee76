"""``python -m grokjax predict results/NAME --at 0.1 [--target grok_by_end|gen_by_end|step_to_90]``:
can the first fraction of a run's curves tell whether (or when) it will grok?  Prints one table
(models, baselines, every single feature), or JSON; ``--write`` adds the out-of-fold
probability to the rows (``predicted_grok_prob``, grokjax.sidecar) and re-renders the page;
``--figure`` draws AUROC against the prediction point.

Bad input (a missing folder, ``--at`` outside (0, 1), an unknown target, model or setting, too
few scored runs, one class only, no curves) is one ``error:`` line, exit status 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from grokjax.predict import cv, targets
from grokjax.predict.evaluate import N_BOOT, Prediction, evaluate
from grokjax.predict.models import MODELS
from grokjax.store import ResultsError, load_results, read_manifest, resolve_dir

DEFAULT_AT = "0.1"


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict from the start of every run whether it will "
                                       "grok, scored on held-out seeds")
    p.add_argument("results", help="results/NAME")
    p.add_argument("--at", default=DEFAULT_AT,
                   help="prediction point(s): fraction(s) of each run's steps, strictly between "
                        "0 and 1, comma-separated (default 0.1), e.g. 0.05,0.1,0.2,0.4")
    p.add_argument("--target", default="grok_by_end",
                   help="grok_by_end (default: the run's phase is grok), gen_by_end (test "
                        "accuracy reaches 0.9 by the end), step_to_90 (of those that reach it: "
                        "by the median step)")
    p.add_argument("--hold-out", metavar="SETTING",
                   help="hold out each value of this setting too (e.g. weight_decay): test "
                        "runs' seeds and value are both unseen")
    p.add_argument("--folds", type=int, default=cv.N_FOLDS, help="grouped folds (default 5)")
    p.add_argument("--repeats", type=int, default=cv.N_REPEATS,
                   help="times the folds are drawn (default 5)")
    p.add_argument("--bootstrap", type=int, default=N_BOOT,
                   help="cluster-bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--top", type=int, help="show only the best N single features")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--write", action="store_true",
                   help="write the out-of-fold probabilities into the folder "
                        "(predicted_grok_prob) and re-render its page")
    p.add_argument("--model", default="logistic",
                   help="the model whose probabilities --write writes: logistic (default) or "
                        "stumps")
    p.add_argument("--figure", metavar="FILE",
                   help="AUROC against the prediction point(s): .png, .svg, .html or .json")
    p.add_argument("--no-report", action="store_true", help="with --write: do not re-render "
                                                             "index.html")


def parse_at(text: str) -> list[float]:
    """``"0.05,0.1"`` -> [0.05, 0.1]; each strictly between 0 and 1."""
    out = []
    for part in str(text).split(","):
        try:
            v = float(part)
        except ValueError:
            v = math.nan
        if not 0 < v < 1:
            raise ResultsError(f"command line: --at {text!r}: {part.strip()!r} is not a fraction "
                               "of the steps; allowed: numbers strictly between 0 and 1, "
                               "comma-separated (e.g. 0.05,0.1,0.2,0.4)")
        out.append(v)
    return sorted(set(out))


def _check(args) -> None:
    if args.target not in targets.TARGETS:
        raise ResultsError(f"command line: --target {args.target!r}: unknown; allowed: "
                           + ", ".join(targets.TARGETS))
    if args.model not in MODELS:
        raise ResultsError(f"command line: --model {args.model!r}: unknown; allowed: "
                           + ", ".join(MODELS))
    for flag, v, least in (("--folds", args.folds, 2), ("--repeats", args.repeats, 1),
                           ("--bootstrap", args.bootstrap, 10), ("--top", args.top, 0)):
        if v is not None and v < least:
            raise ResultsError(f"command line: {flag} {v}: must be >= {least}")


def predict_runs(results: str | Path, at: float = 0.1, target: str = "grok_by_end", *,
            hold_out: str | None = None, n_folds: int = cv.N_FOLDS,
            n_repeats: int = cv.N_REPEATS, n_boot: int = N_BOOT) -> Prediction:
    """``evaluate`` on a results folder: its rows, with the sweep's varying settings as the
    hyperparameter cells."""
    d = resolve_dir(results)
    if not d.is_dir():
        raise ResultsError(f"{results}: no such results folder; run `python -m grokjax sweep "
                           "sweeps/NAME.toml` first")
    df = load_results(d)
    manifest = read_manifest(d) if (d / "manifest.json").is_file() else {}
    if hold_out is not None and hold_out not in df.columns:
        raise ResultsError(f"{d}: --hold-out {hold_out!r}: no such setting; the sweep varies: "
                           + (", ".join(manifest.get("varying") or []) or "nothing"))
    return evaluate(df, at, target, cell_columns=manifest.get("varying") or (),
                    hold_out=hold_out, n_folds=n_folds, n_repeats=n_repeats, n_boot=n_boot,
                    source=str(results).rstrip("/"))


def run(args) -> int:
    from grokjax.predict.table import curve_frame, format_table, to_json

    ats = parse_at(args.at)
    _check(args)
    if args.write and len(ats) > 1:
        raise ResultsError(f"command line: --write needs one --at (got {args.at}): the column "
                           "holds the prediction from one point")
    preds = [predict_runs(args.results, at, args.target, hold_out=args.hold_out,
                     n_folds=args.folds, n_repeats=args.repeats, n_boot=args.bootstrap)
             for at in ats]
    if args.json:
        out = [to_json(p) for p in preds]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=1, allow_nan=False))
    else:
        print("\n\n".join(format_table(p, args.top) for p in preds))
    if args.figure:
        from grokjax.predict.figure import auroc_chart
        from grokjax.report.plots import save_chart

        title = f"{preds[0].source}: {args.target}, AUROC by prediction point"
        path = save_chart(auroc_chart(curve_frame(preds), title=title), args.figure)
        print(f"figure: {path}", file=sys.stderr if args.json else sys.stdout)
    if args.write:
        from grokjax.predict.writeback import write_predictions

        path = write_predictions(args.results, preds[0], args.model)
        print(f"wrote: {path} ({targets.COLUMNS[args.target]}, {args.model}, out of fold)",
              file=sys.stderr if args.json else sys.stdout)
        if not args.no_report:
            from grokjax.report import write_report

            # the page only (the PNGs and explorer pages do not show predictions)
            page = write_report(resolve_dir(args.results), png=False, explorers=False)
            print(f"report: {page}", file=sys.stderr if args.json else sys.stdout)
    return 0
