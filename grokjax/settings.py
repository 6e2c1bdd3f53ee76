"""Settings: one declared knob of a run -- its type, default, allowed values and role.

Components (tasks, models, optimizers, penalties; see ``grokjax.components``) declare the settings
they read.  A ``static`` setting changes array shapes or code paths (one compiled program per
distinct value); a ``run`` setting is a per-run number that becomes a traced, vmapped array.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from grokjax.errors import SpecError

STATIC, RUN = "static", "run"


def positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def nonneg(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


def unit_open(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def unit_frac(v: Any) -> str | None:
    return None if 0 < v < 1 else "must be strictly between 0 and 1"


def fraction(v: Any) -> str | None:
    return None if 0 <= v <= 1 else "must be in [0, 1]"


_REASONS = {positive: "> 0", nonneg: ">= 0", unit_open: "in [0, 1)",
            unit_frac: "strictly between 0 and 1", fraction: "in [0, 1]"}
_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
# Integers live on the device as int32 (steps, the step counter, train_size, sizes) or uint32
# (seeds): a larger value would wrap around in training, so it is refused when the file is read.
INT_LIMITS = {"uint32": (0, 2**32 - 1, "a uint32", "2^32 - 1"),
              "int32": (-(2**31), 2**31 - 1, "an int32", "2^31 - 1")}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting.  ``choices`` may be a callable (names registered at run time, e.g. tasks).

    ``id_at_default=False``: a setting added after results existed leaves run ids unchanged at
    its default (the runs are the same runs) and changes them only when set otherwise.
    ``array``: the dtype of a run setting's traced array ("float": the run's float dtype).
    """

    name: str
    type: type  # int, float, str, bool or list (a list of ints)
    default: Any
    role: str  # STATIC or RUN
    doc: str
    choices: tuple | Callable[[], tuple] | None = None
    check: Callable[[Any], str | None] | None = None
    id_at_default: bool = True
    array: str = "float"  # run settings only: "float", "int32" or "uint32"

    def __post_init__(self):
        if self.role not in (STATIC, RUN):
            raise ValueError(f"setting {self.name!r}: role must be {STATIC!r} or {RUN!r}")
        if self.role == RUN and self.type not in (int, float, bool):
            raise ValueError(f"setting {self.name!r}: a per-run setting must be a number")

    def allowed_values(self) -> tuple | None:
        return self.choices() if callable(self.choices) else self.choices

    def allowed(self) -> str:
        choices = self.allowed_values()
        if choices is not None:
            return "one of " + ", ".join(repr(c) for c in choices)
        base = _TYPE_NAMES.get(self.type, "a list of integers")
        reason = _REASONS.get(self.check)
        return f"{base} {reason}" if reason else base

    def coerce(self, source: str, where: str, v: Any) -> Any:
        """Check one value's type and range (ints are accepted for floats); SpecError if bad."""
        t = self.type
        ok = ((t is bool and isinstance(v, bool))
              or (t is int and isinstance(v, int) and not isinstance(v, bool))
              or (t is float and isinstance(v, (int, float)) and not isinstance(v, bool))
              or (t is str and isinstance(v, str))
              or (t is list and isinstance(v, list)))
        if not ok:
            raise SpecError(source, where, f"{v!r} is {typename(v)}; allowed: {self.allowed()}")
        if t is int:
            lo, hi, dtype, top = INT_LIMITS["uint32" if self.array == "uint32" else "int32"]
            if not lo <= v <= hi:
                bound = f"at most {hi:,} ({top})" if v > hi else f"at least {lo:,}"
                raise SpecError(source, where, f"{v!r} is out of range: {self.name} is "
                                f"{dtype} on the device, so allowed: {bound}")
        if t is float:
            v = float(v)
            if not math.isfinite(v):
                raise SpecError(source, where, f"{v!r} is not finite; allowed: {self.allowed()}")
        choices = self.allowed_values()
        if choices is not None and v not in choices:
            raise SpecError(source, where, f"{v!r} is not allowed; allowed: {self.allowed()}")
        if self.check is not None:
            reason = self.check(v)
            if reason:
                raise SpecError(source, where, f"{v!r} {reason}")
        return list(v) if t is list else v


def typename(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)
