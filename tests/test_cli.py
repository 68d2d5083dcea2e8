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
