"""Full-precision matrix products by default, on every backend.

XLA multiplies float32 matrices in TF32 on recent NVIDIA GPUs and in bfloat16 passes on TPUs
unless told otherwise.  For grokking that is not a detail: measured on an H100, TF32 changed the
phase of 5% of the parity grid's runs and the test accuracy of some by 0.4.  Training sets the
precision from the ``matmul_precision`` setting (``train.start`` / ``train.run_segment``); the
public model and analysis functions use ``full_precision`` so that they compute the same numbers
on a GPU as on a CPU when called on their own, while an explicit caller's choice still wins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import jax

F = TypeVar("F", bound=Callable)


def full_precision(fn: F) -> F:
    """Run ``fn`` with ``jax.default_matmul_precision("highest")`` unless the caller has set a
    precision already (e.g. a sweep's ``matmul_precision = "default"``)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if jax.config.jax_default_matmul_precision is not None:
            return fn(*args, **kwargs)
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
