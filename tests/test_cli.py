"""The ecgpipe command: errors are one clear line, never a traceback."""

import builtins
import errno
import io
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecgpipe.cli import main

from .conftest import DATA, REPRO_STDERR, TRAIN, noise, sh


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


def test_server_without_the_server_extra_is_one_line(tmp_path: Path, monkeypatch, caplog):
    """The runtime alone has no PostgreSQL driver: said before anything starts."""
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else found(name, *a)
    )
    assert main(["--root", str(tmp_path), "server", "--data", str(tmp_path / "t")]) == 1
    assert "psycopg" in caplog.text and "ecgpipe[server]" in caplog.text
    assert not (tmp_path / "t").exists()


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
        "trainer.limit_train_batches=0": "trainer.limit_train_batches: batches per epoch",
        "trainer.accelerator=tpu": "trainer.accelerator: Input should be 'auto', 'cpu'",
        "trainer.precision=banana": "trainer.precision: Input should be '32-true'",
        "train.accelerator=gpu": "train.accelerator: moved to trainer.accelerator (or trainer=gpu",
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


# --- OSErrors a user can cause: one line naming the real path, never a temp one (issue 25) ---


def unwritable(monkeypatch, folder: Path, code: int) -> None:
    """Creating a file or folder directly in ``folder`` fails with ``code``, raised where the OS
    raises it (``os.open``, ``os.mkdir``, ``open``) and with its filename.

    Injected: the tests run as root, whom permission bits do not stop (EACCES), and mounting a
    read-only file system (EROFS) needs privileges a test machine may lack; ENOENT is injected
    too, as a folder removed while a stage writes."""
    folder = folder.absolute()
    real_open, real_mkdir, real_io_open = os.open, os.mkdir, io.open

    def check(name) -> None:
        if (
            isinstance(name, (str, bytes, os.PathLike))
            and Path(os.fsdecode(name)).absolute().parent == folder
        ):
            raise OSError(code, os.strerror(code), os.fsdecode(name))

    def os_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            check(path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    def mkdir(path, mode=0o777, *, dir_fd=None):
        check(path)
        return real_mkdir(path, mode, dir_fd=dir_fd)

    def io_open(file, mode="r", *args, **kwargs):
        if set(mode) & set("wax+"):
            check(file)
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)


def one_error_line(caplog) -> str:
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "\n" not in errors[0] and ".tmp" not in errors[0] and "Traceback" not in errors[0]
    return errors[0]


CODES = (errno.EACCES, errno.EROFS, errno.ENOENT)
SAYS = {errno.EACCES: "permission denied", errno.EROFS: "read-only file system"}

# stage: (the folder made unwritable, the output its error line names)
OUTPUTS = {
    "prepare": ("data", "data/prepared"),
    "validate": ("reports", "reports/integrity.json"),
    "preprocess": ("data", "data/processed"),
    "split": ("data", "data/split"),
    "train": (".", "models"),
    "evaluate": ("plots", "plots/"),
    "external": ("data/external", "data/external/site2"),
}


@pytest.fixture(scope="module")
def evaluated(cnn, tmp_path_factory) -> Path:
    """The trained project, with few resamples, an external set and its test metrics (faked:
    ``external`` only reads them)."""
    root = tmp_path_factory.mktemp("oserrors") / "p"
    shutil.copytree(cnn[0], root)
    external = (
        "+data@evaluate.external.site2.data=synthetic",
        "evaluate.external.site2.data.n_records=20",
        "+evaluate.external.site2.label_map=null",
    )
    overrides = (*DATA, "model=cnn1d", *TRAIN, "evaluate.n_bootstrap=10", *external)
    assert main(["--root", str(root), "compose", *overrides]) == 0
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics/eval.json").write_text('{"test": {}}')
    return root


@pytest.mark.parametrize("code", CODES, ids=errno.errorcode.get)
@pytest.mark.parametrize("stage", OUTPUTS)
def test_an_unwritable_output_of_any_stage_is_one_line_naming_it(
    stage, code, data_project, evaluated, tmp_path, monkeypatch, caplog
):
    folder, output = OUTPUTS[stage]
    if stage in ("train", "evaluate", "external"):
        root = evaluated
    else:
        root = tmp_path / "p"
        shutil.copytree(data_project, root)
    (root / folder).mkdir(parents=True, exist_ok=True)
    unwritable(monkeypatch, root / folder, code)
    argv = [stage, "site2"] if stage == "external" else [stage]
    assert main(["--root", str(root), *argv]) == 1
    line = one_error_line(caplog)
    assert line.startswith(f"ecgpipe {stage}: error: {root / output}"), line
    assert SAYS.get(code, "cannot create") in line


@pytest.mark.parametrize("code", CODES, ids=errno.errorcode.get)
def test_predict_out_into_a_folder_it_cannot_create_is_one_line(
    code, cnn, tmp_path, monkeypatch, caplog
):
    root, uri = cnn
    record = next((root / "data/prepared/source").rglob("*.hea")).with_suffix("")
    unwritable(monkeypatch, tmp_path, code)
    out = tmp_path / "new" / "scores.csv"
    assert main(["--root", str(root), "predict", str(record), "--model", uri, "--out", str(out)])
    line = one_error_line(caplog)
    assert line.startswith(f"ecgpipe predict: error: {tmp_path / 'new'} (for {out}): "), line
    assert SAYS.get(code, f"cannot create new in {tmp_path}") in line


def test_predict_out_past_a_file_or_onto_a_folder_is_one_line(cnn, tmp_path, caplog):
    """Real conditions: a file where a folder should be (ENOTDIR, EEXIST), a folder where the
    output file should be (EISDIR)."""
    root, uri = cnn
    record = str(next((root / "data/prepared/source").rglob("*.hea")).with_suffix(""))
    (tmp_path / "file").write_text("x")
    cases = {
        tmp_path / "file/sub/out.csv": "file is a file where a folder should be",
        tmp_path / "file/out.csv": "a file where a folder should be",
        tmp_path: "a folder where a file should be",
    }
    for out, says in cases.items():
        caplog.clear()
        argv = ["--root", str(root), "predict", record, "--model", uri, "--out", str(out)]
        assert main(argv) == 1
        line = one_error_line(caplog)
        assert line.startswith("ecgpipe predict: error: ") and says in line, line


def test_too_many_open_files_is_one_line_saying_what_to_do(project: Path):
    """Real EMFILE: every descriptor under a low limit taken before ``compose`` runs."""
    script = f"""
import resource, sys
from ecgpipe.cli import main
import ecgpipe.config.compose, hydra  # imported before the descriptors run out
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
try:
    while True:
        held.append(open("/dev/null"))
except OSError:
    pass
sys.exit(main(["--root", {str(project)!r}, "compose"]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert lines[0].startswith("ecgpipe compose: error: too many open files"), lines
    assert "ulimit -n" in lines[0] and "now 64" in lines[0]


def test_a_default_dvc_repro_prints_no_warning_and_no_advertisement(tiny_project: Path):
    """The whole DAG (``debug=tiny``, as ``dvc repro`` runs it) says what ecgpipe says."""
    assert not noise(REPRO_STDERR[tiny_project]), noise(REPRO_STDERR[tiny_project])


def test_verbose_shows_the_third_party_warnings_and_tips(data_project: Path, tmp_path: Path):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    sh("ecgpipe", "compose", *DATA, *TRAIN, cwd=root)
    err = sh("ecgpipe", "--verbose", "train", cwd=root).stderr
    assert "💡 Tip" in err and "litlogger" in err, err
    assert "`isinstance(treespec, LeafSpec)` is deprecated" in err, err
