"""``python -m grokjax stats RESULTS``: the statistics layer on the command line.

    python -m grokjax stats results/NAME [--by a,b] [--metric test_acc] [--threshold 0.9]
        [--where EXPR] [--compare SETTING=A,B [--pool]] [--boot 2000] [--seed 0] [--json]

Without ``--by`` the cells are the page's (``grokjax.report.axes.choose_axes`` on the sweep's
varying axes and its ``[report]`` table); ``--by ''`` makes one cell of all runs.  Bad input is
a ``StatsError`` (one ``error:`` line, exit status 2).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add the ``stats`` command to the CLI's subparsers."""
    p = sub.add_parser("stats", help="per-cell shares and median steps with 95% intervals; "
                                     "--compare: a paired comparison of two arms")
    p.add_argument("results", help="results/NAME")
    p.add_argument("--by", help="columns that define the cells, comma-separated (default: the "
                                "page's x, y and facet axes; '' for one cell)")
    p.add_argument("--metric", default="test_acc",
                   help="the logged curve that must reach the threshold (default: test_acc; "
                        "a *_loss curve must fall to it)")
    p.add_argument("--threshold", type=float, default=0.9, help="default: 0.9")
    p.add_argument("--where", help="only the runs whose settings match, e.g. "
                                   "'weight_decay == 1.0' (the language of plot --where)")
    p.add_argument("--compare", metavar="SETTING=A,B",
                   help="pair the runs of SETTING=A with those of SETTING=B that share every "
                        "other setting (seed, data seed, ...), e.g. grad_filter=none,grokfast_ema")
    p.add_argument("--pool", action="store_true",
                   help="with --compare: one comparison over all pairs instead of one per value "
                        "of the other varying settings")
    p.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _split(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _parse_compare(text: str) -> tuple[str, str, str]:
    from grokjax.stats.columns import StatsError

    setting, sep, values = text.partition("=")
    arms = [v.strip() for v in values.split(",")]
    if not sep or not setting.strip() or len(arms) != 2 or not all(arms):
        raise StatsError(f"--compare: {text!r}: expected SETTING=A,B, e.g. "
                         "grad_filter=none,grokfast_ema")
    return setting.strip(), arms[0], arms[1]


def _default_axes(df, manifest) -> tuple[list[str], list[str], dict[str, list]]:
    """The page's cell axes (facet, y, x), the varying axes it pools, and the grid's order."""
    from grokjax.report.axes import choose_axes
    from grokjax.report.page import resolve_options
    from grokjax.report.results import grid_of

    grid = grid_of(df, manifest)
    varying = manifest.get("varying")
    if not isinstance(varying, list):
        varying = [k for k, v in grid.items() if len(v) > 1 and k != "seed"]
    opts = resolve_options(df, manifest, {})
    axes = choose_axes(varying, grid, opts)  # as the page chooses them (report.layout)
    by = [a for a in (axes["facet"], axes["y"], axes["x"]) if a is not None and a in df.columns]
    pooled = [a for a in varying if a not in by and a != "seed"]
    return by, pooled, grid


def run(args: argparse.Namespace) -> int:
    """Print the cell table or the comparison (``--json``: as JSON).  Every ``StatsError`` is
    prefixed with the results folder."""
    from grokjax.stats.columns import StatsError
    from grokjax.store import resolve_dir

    folder = resolve_dir(args.results)
    try:
        return _run(args, folder)
    except StatsError as e:
        raise StatsError(f"{folder}: {e}") from None


def _run(args: argparse.Namespace, folder) -> int:
    from grokjax.report.results import load_or_raise, rule_of
    from grokjax.stats.cells import cell_table
    from grokjax.stats.columns import StatsError
    from grokjax.stats.paired import compare
    from grokjax.stats.text import cells_json, cells_text, comparison_json, comparison_text
    from grokjax.where import select_rows

    df, manifest = load_or_raise(folder)
    if args.where is not None:
        df = select_rows(df, args.where)
        if len(df) == 0:
            raise StatsError(f"--where {args.where!r} matched no run")
    common = {"metric": args.metric, "threshold": args.threshold, "n_boot": args.boot,
              "seed": args.seed}
    rule = rule_of(df, manifest)
    head = {"results": str(folder), "phase_rule": rule}
    if args.compare is not None:
        if args.by is not None:
            raise StatsError("--by and --compare: give one (a comparison is split by the other "
                             "varying settings itself)")
        setting, a, b = _parse_compare(args.compare)
        result = compare(df, setting, a, b, pool=args.pool, **common)
        print(json.dumps({**head, **comparison_json(result)}, indent=1) if args.json
              else comparison_text(result, str(folder)))
        return 0
    if args.pool:
        raise StatsError("--pool needs --compare")
    by, pooled, grid = _default_axes(df, manifest)
    if args.by is not None:
        by, pooled = _split(args.by), []
    table = cell_table(df, by, order=grid, **common)
    print(json.dumps({**head, **cells_json(table)}, indent=1) if args.json
          else cells_text(table, str(folder), f"stored, {rule['name']} rule", pooled))
    return 0
