"""The ``[adaptive]`` table of a sweep file: validated once, into ``AdaptiveOptions``.

::

    [adaptive]
    axes = ["weight_decay", "train_size"]   # numeric [grid] axes with >= 2 values (refined)
    rounds = 3             # refinement rounds after round 0 (the [grid] itself)
    budget = 64            # most runs in all, round 0 included
    seeds_per_point = 1    # seeds of a new point, and seeds added to a point per round
    seed_share = 0.25      # share of a round's runs kept for extra seeds (0..1)
    target = "phase"       # what the refinement follows: the runs' phases
    spacing = { weight_decay = "log" }      # per axis "log" | "linear" (default: see below)

Spacing, when not given: ``log`` for an axis given as ``{logspace = ...}``, ``linear`` for
``{linspace = ...}``; a list is ``log`` when all its values are > 0 and the largest is at least
10 times the smallest, else ``linear``.  The rounds themselves: ``grokjax.adaptive``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from grokjax import registry
from grokjax.errors import SpecError
from grokjax.hashing import stable_hash
from grokjax.settings import typename

__all__ = ["ADAPTIVE_KEYS", "SPACINGS", "TARGETS", "AdaptiveOptions", "parse_adaptive"]

ADAPTIVE_KEYS = ("axes", "rounds", "budget", "seeds_per_point", "seed_share", "target",
                 "spacing")
TARGETS = ("phase",)
SPACINGS = ("log", "linear")
MAX_ROUNDS = 20  # each round halves the gaps it splits: 20 rounds is already 1e-6 of a step


@dataclasses.dataclass(frozen=True)
class AdaptiveOptions:
    """A validated ``[adaptive]`` table (``spacing`` resolved for every axis)."""

    axes: tuple[str, ...]
    rounds: int
    budget: int
    seeds_per_point: int = 1
    seed_share: float = 0.25
    target: str = "phase"
    spacing: tuple[tuple[str, str], ...] = ()  # (axis, "log" | "linear") for every axis
    integer: tuple[str, ...] = ()  # axes whose setting is an integer (midpoints rounded)

    def is_log(self, axis: str) -> bool:
        return dict(self.spacing)[axis] == "log"

    def params(self) -> dict[str, Any]:
        """What decides the rounds' choices (part of the sweep's spec hash)."""
        return {"axes": list(self.axes), "rounds": self.rounds, "budget": self.budget,
                "seeds_per_point": self.seeds_per_point, "seed_share": self.seed_share,
                "target": self.target, "spacing": dict(self.spacing)}

    def spec_hash(self, round0_ids: list[str], rule_name: str, rule_params: Mapping) -> str:
        """The folder's spec hash: round 0's runs, these options and the phase rule (the
        points chosen depend on the phases, so another rule is another sweep)."""
        return stable_hash({"runs": sorted(round0_ids), "adaptive": self.params(),
                            "phases": [rule_name, dict(rule_params)]})


def _int(source: str, key: str, v: Any, lo: int, hi: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
        allowed = f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else "")
        raise SpecError(source, f"[adaptive] {key}", f"{v!r}: allowed: {allowed}")
    return v


def _auto_spacing(raw_axis: Any, values: list[Any]) -> str:
    if isinstance(raw_axis, dict):
        return "log" if "logspace" in raw_axis else "linear"
    if all(v > 0 for v in values) and max(values) >= 10 * min(values):
        return "log"
    return "linear"


def parse_adaptive(raw: Any, source: str, grid: Mapping[str, list[Any]],
                   grid_raw: Mapping[str, Any], fixed: Mapping[str, Any],
                   n_round0: int) -> AdaptiveOptions | None:
    """Check an ``[adaptive]`` table against the sweep's expanded ``grid`` (``grid_raw``: the
    file's [grid] as written, for the default spacing); None when the file has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SpecError(source, "[adaptive]", f"must be a table; got {typename(raw)}")
    for key in raw:
        if key not in ADAPTIVE_KEYS:
            raise SpecError(source, f"[adaptive] {key}", "unknown key; allowed: "
                            + ", ".join(ADAPTIVE_KEYS))
    for key in ("axes", "rounds", "budget"):
        if key not in raw:
            raise SpecError(source, f"[adaptive] {key}", "missing; an [adaptive] table needs "
                            "axes, rounds and budget")
    numeric = [a for a, v in grid.items() if a != "seed" and len(v) > 1
               and registry.setting(a).type in (int, float)]
    allowed_axes = ", ".join(numeric) or "none (this [grid] has no numeric axis with >= 2 values)"
    axes = raw["axes"]
    if not isinstance(axes, list) or not axes or not all(isinstance(a, str) for a in axes):
        raise SpecError(source, "[adaptive] axes", f"{axes!r}: allowed: a non-empty list of "
                        f"[grid] axis names ({allowed_axes})")
    if len(set(axes)) != len(axes):
        raise SpecError(source, "[adaptive] axes", f"{axes!r} names an axis twice")
    for a in axes:
        if a in fixed:
            why = "is in [fixed]; an adaptive axis must be a [grid] axis with >= 2 values"
        elif a not in grid or a == "seed":
            why = "is not a [grid] axis"
        elif len(grid[a]) < 2:
            why = "has one value in [grid]; round 0 needs at least 2 to refine between"
        elif a not in numeric:
            why = f"is a {registry.setting(a).type.__name__} setting; midpoints need numbers"
        else:
            continue
        raise SpecError(source, "[adaptive] axes", f"{a!r} {why}; allowed: {allowed_axes}")
    rounds = _int(source, "rounds", raw["rounds"], 1, MAX_ROUNDS)
    budget = raw["budget"]
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < n_round0:
        raise SpecError(source, "[adaptive] budget", f"{budget!r}: allowed: an integer >= "
                        f"{n_round0:,}, the runs of round 0 (the [grid] with its seeds); the "
                        "budget counts every run, round 0 included")
    spp = _int(source, "seeds_per_point", raw.get("seeds_per_point", 1), 1)
    share = raw.get("seed_share", 0.25)
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
        raise SpecError(source, "[adaptive] seed_share", f"{share!r}: allowed: a number from "
                        "0 to 1 (the share of a round's runs kept for extra seeds)")
    target = raw.get("target", "phase")
    if target not in TARGETS:
        raise SpecError(source, "[adaptive] target", f"{target!r}: allowed: "
                        + ", ".join(repr(t) for t in TARGETS))
    given = raw.get("spacing", {})
    if not isinstance(given, dict):
        raise SpecError(source, "[adaptive] spacing", f"must be a table {{axis = \"log\"}}; "
                        f"got {typename(given)}")
    for a, s in given.items():
        if a not in axes:
            raise SpecError(source, f"[adaptive] spacing {a}", "is not one of [adaptive] axes ("
                            + ", ".join(axes) + ")")
        if s not in SPACINGS:
            raise SpecError(source, f"[adaptive] spacing {a}", f"{s!r}: allowed: "
                            + ", ".join(repr(x) for x in SPACINGS))
    spacing = []
    for a in axes:
        s = given.get(a) or _auto_spacing(grid_raw.get(a), grid[a])
        if s == "log" and not all(v > 0 for v in grid[a]):
            raise SpecError(source, f"[adaptive] spacing {a}", f"'log' needs values > 0; "
                            f"[grid] {a} = {grid[a]!r}")
        spacing.append((a, s))
    integer = tuple(a for a in axes if registry.setting(a).type is int)
    return AdaptiveOptions(axes=tuple(axes), rounds=rounds, budget=budget, seeds_per_point=spp,
                           seed_share=float(share), target=target, spacing=tuple(spacing),
                           integer=integer)
