"""The ecgpipe command: errors are one clear line, never a traceback."""

import subprocess
import sys
from pathlib import Path

from ecgpipe.cli import main


def test_compose_writes_params_with_overrides(project: Path):
    assert main(["--root", str(project), "compose", "data=ptbxl", "data.root=/somewhere"]) == 0
    text = (project / "params.yaml").read_text()
    assert "root: /somewhere" in text and "source: /somewhere" in text


def test_bad_params_fail_before_any_work(project: Path, caplog):
    (project / "params.yaml").write_text("data:\n  name: synthetic\n  n_recordz: 3\n")
    assert main(["--root", str(project), "prepare"]) == 1
    assert "data.n_recordz: unknown key" in caplog.text
    assert not (project / "data").exists()


def test_missing_real_data_is_one_clear_line(project: Path, tmp_path: Path):
    main(["--root", str(project), "compose", "data=ptbxl", f"data.root={tmp_path / 'nowhere'}"])
    proc = subprocess.run(
        [sys.executable, "-m", "ecgpipe", "--root", str(project), "prepare"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "ptbxl_database.csv: not found" in proc.stderr


def test_validate_before_prepare_says_what_to_run(project: Path, caplog):
    main(["--root", str(project), "compose"])
    assert main(["--root", str(project), "validate"]) == 1
    assert "run the prepare stage first" in caplog.text


def test_compose_and_the_data_stages_never_load_torch(project: Path):
    """Checking the model's options needs no torch: only train and evaluate load it."""
    script = f"""
import sys
from ecgpipe.cli import main
for argv in (["compose", "debug=tiny", "data.n_records=40"], ["prepare"], ["validate"],
             ["preprocess"], ["split"]):
    assert main(["--root", {str(project)!r}, *argv]) == 0, argv
    assert "torch" not in sys.modules, f"ecgpipe {{argv[0]}} loaded torch"
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_every_whole_config_error_is_one_line_naming_the_key(project: Path):
    cases = {
        "train.limit_train_batches=0": "train.limit_train_batches: batches per epoch",
        "train.accelerator=tpu": "train.accelerator: Input should be 'auto', 'cpu'",
        "train.precision=banana": "train.precision: Input should be '32-true'",
        "model.options.kernel_size=0": "model.options.kernel_size: Input should be greater",
        "preprocess.spectrogram.window=5000": "preprocess.spectrogram.window (5000 samples",
        "mlflow.tracking_uri=foo://bar": "mlflow.tracking_uri: 'foo://bar' is not a tracking",
        "preprocess.leads=[I,V7]": "preprocess.leads: ['V7'] not among data=synthetic's leads",
        "split.ratios.train=0.5": "split: ratios must add up to 1",
        "train.lrr=1": "train.lrr: unknown key (did you mean lr?); the override train.lrr=1",
    }
    for override, expected in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "ecgpipe", "--root", str(project), "compose", override],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 1, override
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (override, proc.stderr)


def test_a_key_a_group_switch_strands_names_both_groups(project: Path, caplog):
    assert main(["--root", str(project), "compose", "debug=tiny", "data=ptbxl"]) == 1
    assert (
        "data.n_records: unknown key for data=ptbxl; it is a key of data=synthetic; "
        "debug=tiny sets it" in caplog.text
    )


def test_a_full_disk_in_any_stage_is_one_line_naming_the_file(project: Path, monkeypatch, caplog):
    import errno

    from ecgpipe.stages import prepare

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "data/prepared/manifest.csv")

    main(["--root", str(project), "compose"])
    monkeypatch.setattr(prepare, "run", full)
    assert main(["--root", str(project), "prepare"]) == 1
    assert (
        "ecgpipe prepare: error: no space left on device while writing data/prepared/manifest.csv"
        in caplog.text
    )
