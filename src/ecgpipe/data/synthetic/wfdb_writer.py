"""WFDB records exactly as PTB-XL stores them: format 16, 1000 adu/mV, baseline 0, 12 leads.

The header and the little-endian interleaved samples are written directly (``wfdb.wrsamp``
would be an order of magnitude slower); ``wfdb.rdrecord`` reads them back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgpipe.config.schema import PTBXL_LEADS as LEADS

ADC_GAIN = 1000.0  # adu per mV: 1 µV resolution
INVALID = -32768  # WFDB's "no sample" value in format 16
ADC_MAX = 32767


def record_name(ecg_id: int, fs: int) -> str:
    """PTB-XL's record name: ``00001_lr`` (100 Hz) or ``00001_hr`` (500 Hz)."""
    return f"{ecg_id:05d}_{'lr' if fs == 100 else 'hr'}"


def record_path(ecg_id: int, fs: int) -> str:
    """PTB-XL's path of a record, without extension: ``records100/00000/00001_lr``."""
    return f"records{fs}/{ecg_id // 1000 * 1000:05d}/{record_name(ecg_id, fs)}"


def quantise(signal_mv: np.ndarray) -> np.ndarray:
    """(n_sig, n) mV -> (n, n_sig) int16 samples (clipped to the valid ADC range)."""
    return np.clip(np.rint(signal_mv.T * ADC_GAIN), -ADC_MAX, ADC_MAX).astype(np.int16)


def header_lines(name: str, digital: np.ndarray, fs: int) -> list[str]:
    """Header lines for ``digital`` (n, n_sig), with its initial values and checksums."""
    n, n_sig = digital.shape
    checksums = digital.sum(axis=0, dtype=np.int64) % 65536
    lines = [f"{name} {n_sig} {fs} {n}"]
    lines += [
        f"{name}.dat 16 {ADC_GAIN:.1f}(0)/mV 16 0 {int(digital[0, j])} {int(checksums[j])} 0 "
        f"{LEADS[j]}"
        for j in range(n_sig)
    ]
    return lines


def write_record(base: Path, lines: list[str], digital: np.ndarray) -> None:
    """Write ``base``.hea and ``base``.dat (``base`` without extension)."""
    base.with_name(base.name + ".hea").write_text("\n".join(lines) + "\n", encoding="ascii")
    base.with_name(base.name + ".dat").write_bytes(digital.astype("<i2").tobytes())
