"""Oscillation features of a training-loss prefix (after Notsawo et al. 2023, "Predicting
grokking long before it happens": early oscillations of the training loss herald grokking).

The log training loss over the prefix is detrended with a quadratic fit (a loss curve falls
smoothly, and a linear fit would leave that curvature as low-frequency power), tapered with a
Hann window, and its periodogram split at half the Nyquist frequency.  Only oscillations slower
than two log intervals are visible: faster ones alias into the logged curve.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

TINY = 1e-30  # floor of a power before log10 (a perfectly smooth prefix)
MIN_POINTS = 8  # a shorter prefix has no usable spectrum


class Oscillation(NamedTuple):
    high_power: float  # log10 mean periodogram power above half the Nyquist frequency
    high_share: float  # that power's share of the total (detrended) power, 0..1


def detrend_quadratic(x_L: np.ndarray) -> np.ndarray:
    """Residual of a least-squares quadratic in the index (a constant for L < 3)."""
    x_L = np.asarray(x_L, np.float64)
    t = np.linspace(-1.0, 1.0, len(x_L))
    deg = min(2, len(x_L) - 1)
    coef = np.polynomial.polynomial.polyfit(t, x_L, deg)
    return x_L - np.polynomial.polynomial.polyval(t, coef)


def oscillation(log_loss_L: np.ndarray) -> Oscillation:
    """High-frequency power of a (log) loss prefix; NaN if it is shorter than ``MIN_POINTS`` or
    not finite."""
    x = np.asarray(log_loss_L, np.float64)
    if len(x) < MIN_POINTS or not np.all(np.isfinite(x)):
        return Oscillation(float("nan"), float("nan"))
    r = detrend_quadratic(x)
    w = np.hanning(len(r))
    power_K = np.abs(np.fft.rfft(r * w)) ** 2 / np.sum(w * w)
    power_K = power_K[1:]  # the constant bin: what detrending left of the mean
    half = len(power_K) // 2
    high = power_K[half:]
    total = float(power_K.sum())
    return Oscillation(float(np.log10(max(float(high.mean()), TINY))),
                       float(high.sum() / total) if total > 0 else 0.0)
