"""Integrity checks, on arrays and on real WFDB files broken one way at a time."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.data.validation import (
    Expected,
    Header,
    Thresholds,
    check_record,
    check_signal,
    check_table,
    read_record,
    run_checks,
)

THR = Thresholds(flat_std_mv=0.005, saturation_min_s=0.2, amplitude_limit_mv=15.0)
LEADS = ("I", "II", "V1")
FS = 100.0


def ecg_like(n: int = 1000, seed: int = 0) -> np.ndarray:
    """(samples, 3) in mV: a spiky periodic wave plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    beat = np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.01**2))
    x = np.stack([beat, 1.2 * beat, -0.8 * beat], axis=1)
    return x + 0.02 * rng.standard_normal(x.shape)


def checks(failures) -> list[str]:
    return [f.check for f in failures]


def test_healthy_signal_passes():
    assert check_signal(ecg_like(), LEADS, FS, THR) == []


def test_nan_flat_saturated_and_amplitude_are_found_and_located():
    x = ecg_like()
    x[200:240, 0] = np.nan
    x[:, 1] = 0.3
    x[500:530, 2] = x[:, 2].max() + 1.0
    failures = check_signal(x, LEADS, FS, THR)
    assert checks(failures) == ["nan", "flat_lead", "saturated"]
    assert "lead I: 40 NaN/inf samples from 2.00 s" in failures[0].reason
    assert "lead II is flat" in failures[1].reason
    assert "lead V1 is held at its maximum" in failures[2].reason
    y = ecg_like()
    y[300, 2] = 40.0
    assert checks(check_signal(y, LEADS, FS, THR)) == ["amplitude"]


def test_a_lead_1000_times_too_small_or_large_hints_at_the_gain_or_unit():
    """Issue 35: a header's gain 1000 times off makes a real ECG flat (or huge); the reason says
    the likely cause. A constant lead, or one that rescaled is no ECG either, gets no hint."""
    x = ecg_like()
    x[:, 0] /= 1000
    x[:, 1] *= 1000
    x[:, 2] = 0.3
    small, large, constant = check_signal(x, LEADS, FS, THR)
    assert small.check == "flat_lead" and small.reason.startswith("lead I is flat (std 0.0001 mV)")
    assert "1000 times larger it would be an ordinary ECG: is the header's gain" in small.reason
    assert (
        large.check == "amplitude" and "1000 times smaller it would be an ordinary" in large.reason
    )
    assert constant.check == "flat_lead" and "gain" not in constant.reason
    y = ecg_like()
    y[300, 2] = 40.0  # one spike: a thousandth of it is no ECG (too flat)
    [spike] = check_signal(y, LEADS, FS, THR)
    assert spike.check == "amplitude" and "gain" not in spike.reason


def test_a_rate_no_ecg_is_recorded_at_is_refused(tmp_path):
    e = write_record(tmp_path, fs=10.0)
    [f] = check_record(Expected(e.path, None, LEADS, None), THR).failures
    assert (
        f.check == "sampling_rate"
        and "header says 10 Hz, not a rate an ECG is recorded at" in f.reason
    )


def test_a_short_plateau_is_not_saturation():
    x = ecg_like()
    x[500:515, 2] = x[:, 2].max() + 1.0  # 150 ms < 200 ms
    assert check_signal(x, LEADS, FS, THR) == []


def test_clipped_peaks_of_many_beats_add_up_to_saturation():
    x = ecg_like()
    x[:, 0] = np.minimum(x[:, 0], 0.5)  # every R wave clipped for ~30 ms
    [f] = check_signal(x, LEADS, FS, THR)
    assert f.check == "saturated" and "lead I is held at its maximum 0.500 mV" in f.reason


def write_record(directory: Path, name: str = "r", fs: float = FS, signal=None) -> Expected:
    signal = ecg_like() if signal is None else signal
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * signal.shape[1],
        sig_name=list(LEADS[: signal.shape[1]]),
        p_signal=signal,
        fmt=["16"] * signal.shape[1],
        adc_gain=[1000.0] * signal.shape[1],
        baseline=[0] * signal.shape[1],
        write_dir=str(directory),
    )
    return Expected(directory / name, FS, LEADS, len(signal))


def edit_header(e: Expected, old: str, new: str) -> None:
    hea = e.path.with_suffix(".hea")
    text = hea.read_text()
    assert old in text
    hea.write_text(text.replace(old, new, 1))


def test_healthy_record_passes(tmp_path):
    assert check_record(write_record(tmp_path), THR).failures == []


def test_missing_files(tmp_path):
    e = write_record(tmp_path)
    os.remove(e.path.with_suffix(".dat"))
    [f] = check_record(e, THR).failures
    assert (f.check, f.reason) == ("missing_file", f"{e.path.with_suffix('.dat')} is missing")
    os.remove(e.path.with_suffix(".hea"))
    assert checks(check_record(e, THR).failures) == ["missing_file"]


def test_truncated_data(tmp_path):
    e = write_record(tmp_path)
    os.truncate(e.path.with_suffix(".dat"), 4000)
    [f] = check_record(e, THR).failures
    assert f.check == "header_data_mismatch"
    assert "holds 4000 bytes" in f.reason and "need 6000" in f.reason and "truncated" in f.reason


def test_header_length_disagrees_with_data(tmp_path):
    e = write_record(tmp_path)
    edit_header(e, "r 3 100 1000", "r 3 100 1100")
    assert checks(check_record(e, THR).failures) == ["header_data_mismatch", "length"]


def test_header_signal_count_disagrees_with_data(tmp_path):
    e = write_record(tmp_path)
    hea = e.path.with_suffix(".hea")
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join([lines[0].replace("r 3", "r 2"), *lines[1:3]]) + "\n")
    failures = check_record(e, THR).failures
    assert checks(failures) == ["header_data_mismatch", "leads"]
    assert "missing ['V1']" in failures[1].reason


def test_wrong_rate_length_and_leads(tmp_path):
    e = write_record(tmp_path, fs=500.0, signal=ecg_like(1000)[:, :2])
    expected = Expected(e.path, FS, LEADS, 900)
    assert checks(check_record(expected, THR).failures) == ["sampling_rate", "length", "leads"]


def test_malformed_header_is_unreadable(tmp_path):
    e = write_record(tmp_path)
    e.path.with_suffix(".hea").write_text("this is not a header\n")
    [f] = check_record(e, THR).failures
    assert f.check == "unreadable" and "r.hea cannot be parsed" in f.reason


def test_invalid_samples_read_as_nan(tmp_path):
    x = ecg_like()
    x[100:130, 1] = np.nan
    e = write_record(tmp_path, signal=x)
    [f] = check_record(e, THR).failures
    assert (f.check, f.reason) == ("nan", "lead II: 30 NaN/inf samples from 1.00 s")


def table(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "record_id": [str(i) for i in range(n)],
        "patient_id": ["p"] * n,
        "path": [f"r{i}" for i in range(n)],
        "labels": [manifest.encode_labels(["A"])] * n,
        "label_error": [""] * n,
    }
    return pd.DataFrame(base | cols)


def test_table_checks():
    df = table(
        record_id=["1", "2", "2", "3", "4"],
        patient_id=["a", "b", "c", "", "d"],
        labels=['["A"]', '["A"]', '["A"]', '["A"]', "[]"],
        label_error=["unknown SCP code(s) XYZ9", "", "", "", ""],
    )
    failures = check_table(df)
    assert [checks(f) for f in failures] == [
        ["labels"],
        ["duplicate_id"],
        ["duplicate_id"],
        ["patient_id"],
        [],  # no label for the task is not a defect: split leaves such records out
    ]
    assert "id 2 appears 2 times (also ['r2'])" in failures[1][0].reason


def test_length_bounds_apply_where_no_length_is_declared(tmp_path):
    e = write_record(tmp_path)  # 1000 samples at 100 Hz: 10 s
    [f] = check_record(Expected(e.path, None, (), None, 12.0, None), THR).failures
    assert f.check == "length" and "(10.00 s), shorter than the minimum 12 s" in f.reason
    [f] = check_record(Expected(e.path, None, (), None, 1.0, 9.5), THR).failures
    assert "longer than the maximum 9.5 s" in f.reason
    assert check_record(Expected(e.path, None, (), None, 1.0, 10.0), THR).failures == []


def test_any_rate_and_extra_leads_pass_and_the_header_is_reported(tmp_path):
    e = write_record(tmp_path, fs=360.0)
    got = check_record(Expected(e.path, None, ("ii",), None), THR)
    assert got.failures == []
    assert got.header == Header(360.0, LEADS, 1000)


def test_only_the_leads_that_matter_are_checked(tmp_path):
    x = ecg_like()
    x[:, 2] = 0.0
    e = write_record(tmp_path, signal=x)
    assert check_record(Expected(e.path, FS, ("I", "II"), 1000), THR).failures == []
    assert checks(check_record(e, THR).failures) == ["flat_lead"]


def test_where_no_leads_are_declared_most_records_decide(tmp_path):
    for name in ("a", "b"):
        write_record(tmp_path, name)
    write_record(tmp_path, "c", signal=ecg_like()[:, :2])  # I and II only
    df = pd.DataFrame(
        {
            "record_id": ["a", "b", "c"],
            "patient_id": ["a", "b", "c"],
            "path": ["a", "b", "c"],
            "fs": [0.0] * 3,
            "n_leads": [0] * 3,
            "leads": [""] * 3,
            "n_samples": [-1] * 3,
            "labels": ['["X"]'] * 3,
            "label_error": [""] * 3,
            "fold": [-1] * 3,
        }
    )
    info = DatasetInfo("own", str(tmp_path), "t", "multiclass", ("X",), None, (), 1.0, None)
    checked = run_checks(df, info, tmp_path, THR, workers=1)
    assert checked.leads == LEADS
    assert [checks(f) for f in checked.failures] == [[], [], ["leads"]]
    assert "missing ['V1'], which most records of the dataset have" in checked.failures[2][0].reason


def test_a_format_212_record_is_read_and_its_size_checked(tmp_path):
    """MIT-BIH's packed format: 12 bits a sample, three bytes for every two."""
    signal = ecg_like(1001)[:, :2]
    wfdb.wrsamp(
        "m", fs=FS, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=signal,
        fmt=["212", "212"], adc_gain=[200.0, 200.0], baseline=[1024, 1024], write_dir=str(tmp_path),
    )  # fmt: skip
    e = Expected(tmp_path / "m", FS, ("MLII", "V1"), 1001)
    check, record = read_record(e, THR)
    assert check.failures == [] and record is not None
    np.testing.assert_allclose(record.p_signal, signal, atol=1 / 200)  # to one ADC step
    need = -(-1001 * 2 * 3 // 2)  # 2002 samples in 12 bits each
    assert e.path.with_suffix(".dat").stat().st_size == need
    os.truncate(e.path.with_suffix(".dat"), need - 30)
    [f] = check_record(e, THR).failures
    assert f.check == "header_data_mismatch" and f"need {need} (truncated?)" in f.reason


def test_a_record_in_uv_passes_as_in_mv_and_an_unusable_name_or_unit_is_excluded(tmp_path):
    mv = write_record(tmp_path, "mv")
    uv = write_record(tmp_path, "uv")  # the same samples, its header in microvolts
    hea = uv.path.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("1000.0(0)/mV", "1.0(0)/uV"))
    for e in (mv, uv):
        assert check_record(e, THR).failures == []  # not "lead I reaches 1000x its mV"
    np.testing.assert_allclose(
        read_record(uv, THR)[1].p_signal, read_record(mv, THR)[1].p_signal, rtol=0, atol=1e-9
    )
    not_utf8, unknown, not_volts = (write_record(tmp_path, n) for n in ("bytes", "pleth", "nu"))
    hea = not_utf8.path.with_suffix(".hea")
    hea.write_bytes(hea.read_bytes().replace(b" V1\n", b" V\xff1\n"))
    edit_header(unknown, " V1\n", " Pleth\n")
    edit_header(not_volts, "/mV", "/NU")
    for e, check, reason in (
        (not_utf8, "leads", "signal 3's lead name 'V\\xff1' is not UTF-8"),
        (unknown, "leads", "signal 3's lead name 'Pleth' is no ECG lead ecgpipe knows"),
        (not_volts, "units", "lead I is in 'NU': not a voltage ecgpipe reads"),
    ):
        result, record = read_record(e, THR)
        [failure] = result.failures
        assert record is None and failure.check == check
        assert failure.reason.startswith(f"{e.path}.hea: ") and reason in failure.reason
