"""Which sweep axes the phase diagram draws where, and the ``[report]`` table of a sweep file.

The phase diagram has three positional roles: ``x`` (columns of cells inside a panel), ``y``
(rows of cells) and ``facet`` (one panel per value).  By default the varying axes (more than
one value, seed excluded) fill them in order of how many values they have -- most values on x,
then y, then facet; ties keep the sweep file's order.  Varying axes left over after the three
roles, and the seeds, are drawn as a small grid of dots inside each cell.

``[report]`` keys (all optional)::

    x = "weight_decay"      # any grid axis, seed included
    y = "hidden"
    facet = "train_size"
    curves_per_phase = 3    # representative runs drawn per phase (1..20)
    curve_points = 101      # points per curve kept in the page (10..2000); PNGs use all points
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from grokjax.options import (  # noqa: F401  (re-exported for the page)
    REPORT_DEFAULTS,
    REPORT_KEYS,
    ROLES,
    ReportOptions,
    check_axis_options,
)

# The [report] table is parsed with the spec (grokjax.options); the page re-checks overrides.
DEFAULTS = REPORT_DEFAULTS


def check_report_options(spec: Any, options: Mapping[str, Any]) -> None:
    """Validate a ``[report]`` table against the sweep's grid axes (``ReportOptions``).

    Raises ``SpecError(spec.source, "[report] KEY", ...)``; the message lists what is allowed.
    """
    ReportOptions.from_mapping(options, spec.source, list(spec.grid))


def choose_axes(varying: Sequence[str], grid: Mapping[str, Sequence[Any]],
                options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Assign axes to x, y and facet.

    Returns ``{"x": str|None, "y": str|None, "facet": str|None, "inner": [str, ...]}`` where
    ``inner`` holds the varying axes that got no role (drawn inside the cells with the seeds).
    Axes named in ``options`` keep their role (they may be any grid axis); the remaining
    varying axes fill the free roles in order x, y, facet, those with most values first.
    """
    options = options or {}
    chosen: dict[str, Any] = {role: options.get(role) for role in ROLES}
    used = {v for v in chosen.values() if v is not None}
    rest = [a for a in varying if a not in used and a != "seed"]
    rest.sort(key=lambda a: -len(grid.get(a, ())))  # stable: ties keep file order
    for role in ROLES:
        if chosen[role] is None and rest:
            chosen[role] = rest.pop(0)
    chosen["inner"] = rest
    return chosen


# ---------------------------------------------------------------------------------------------
# Axis values: order and labels
# ---------------------------------------------------------------------------------------------


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt_value(v: Any) -> str:
    """A short label for a setting value: 0.01, 1e-5, 1750, true, [1, 2]."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if _is_num(v):
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        s = f"{v:g}"
        return s.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    return str(v)


def order_values(values: Sequence[Any]) -> list[Any]:
    """Numbers ascending; anything else in the order given."""
    vals = list(values)
    if vals and all(_is_num(v) for v in vals):
        return sorted(vals)
    return vals


def value_key(v: Any) -> str:
    """A hashable, type-stable key for a setting value (lists, numpy scalars, ints vs floats)."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if _is_num(v):
        return repr(float(v))
    return json.dumps(v, sort_keys=True, default=str)


def labels_for(values: Sequence[Any]) -> dict[str, str]:
    """value_key -> label, unique per axis (falls back to repr when short labels collide)."""
    keys = [value_key(v) for v in values]
    short = [fmt_value(v) for v in values]
    if len(set(short)) == len(short):
        return dict(zip(keys, short, strict=True))
    return {k: (repr(v) if _is_num(v) else s) for k, v, s in zip(keys, values, short, strict=True)}


def is_log_spaced(values: Sequence[Any]) -> bool:
    """Positive numbers whose ratios are more even than their differences (drawn ordinally)."""
    vals = order_values(values)
    if len(vals) < 3 or not all(_is_num(v) and v > 0 for v in vals):
        return False
    diffs = [b - a for a, b in itertools.pairwise(vals)]
    ratios = [math.log(b / a) for a, b in itertools.pairwise(vals)]

    def spread(xs):
        return (max(xs) - min(xs)) / max(abs(sum(xs) / len(xs)), 1e-300)

    return spread(ratios) < spread(diffs)
