"""Training-time augmentations on one (leads, T) window in mV; NumPy, with an explicit RNG."""

from __future__ import annotations

import numpy as np


def scale(x: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Multiply each lead by a factor drawn from U(1 - amount, 1 + amount)."""
    return x * rng.uniform(1 - amount, 1 + amount, (x.shape[0], 1)).astype(x.dtype)


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, std: float) -> np.ndarray:
    return x + rng.normal(0.0, std, x.shape).astype(x.dtype)


def baseline_wander(
    x: np.ndarray, rng: np.random.Generator, amplitude: float, fs: float
) -> np.ndarray:
    """Add a slow sinusoid (0.05-0.5 Hz, random phase) of up to ``amplitude`` mV to each lead."""
    t = np.arange(x.shape[-1]) / fs
    freq = rng.uniform(0.05, 0.5, (x.shape[0], 1))
    phase = rng.uniform(0, 2 * np.pi, (x.shape[0], 1))
    amp = rng.uniform(0, amplitude, (x.shape[0], 1))
    return x + (amp * np.sin(2 * np.pi * freq * t + phase)).astype(x.dtype)
