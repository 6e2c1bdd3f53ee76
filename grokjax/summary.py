"""Per-run summary numbers from logged curves (host side, numpy, vectorised over runs)."""

from __future__ import annotations

import numpy as np

from grokjax import curves as stats  # as: summarize takes an argument named curves


def summarize(curves: dict[str, np.ndarray], step_L: np.ndarray) -> dict[str, np.ndarray]:
    """Final (last finite) and best values, steps to 0.9/0.99 accuracy, the grokking delay.

    Minimum losses and the loss ratio depend on the phase rule's floor; grokjax.phases adds them.
    """
    out: dict[str, np.ndarray] = {}
    for name in ("train_loss", "test_loss", "train_acc", "test_acc", "l2_norm"):
        out[f"final_{name}"] = stats.last_finite(curves[name])
    with np.errstate(all="ignore"):
        for name in ("train_acc", "test_acc"):
            finite = np.isfinite(curves[name]).any(1)
            best = np.nanmax(np.where(np.isfinite(curves[name]), curves[name], -np.inf), axis=1)
            out[f"best_{name}"] = np.where(finite, best, np.nan)
    for name in ("train_acc", "test_acc"):
        for thr, tag in ((0.9, "90"), (0.99, "99")):
            out[f"{name}_step_{tag}"] = stats.first_step(step_L, curves[name], thr)
    # Steps from train to test accuracy 0.9 (negative if test got there first); NaN if either never.
    out["grok_delay"] = out["test_acc_step_90"] - out["train_acc_step_90"]
    return out


# Integer summaries where NaN means "never": stored as nullable integers.
NULLABLE_INT = ("train_acc_step_90", "test_acc_step_90", "train_acc_step_99",
                "test_acc_step_99", "grok_delay", "nan_step")
