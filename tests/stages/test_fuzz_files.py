"""Every kind of file a user or an earlier run hands the pipeline, damaged at random (seeded):
truncated, bytes flipped, random bytes, empty, JSON of the wrong types, and re-encoded (a
byte-order mark, CRLF line ends, UTF-16, backslashes in paths). After each damage the command
that reads the file either succeeds with what the file truly says, or exits non-zero with one
``error:`` line naming the file (or the setting that names it), no traceback, and nothing left
behind: no new folder, no MLflow run that did not finish, no temporary file.

Readers: ``params.yaml`` (``split``), ``train.init_from`` (a copy of ``models/best.ckpt``), an
interrupted training's ``checkpoints/last.ckpt`` and ``run.json`` (``train.resume=true``), the
model folder ``evaluate`` reads, a logged model's folder (``predict --model``), a WFDB folder's
``labels.csv`` (``prepare``) and an Optuna
storage (``ecgpipe-sweep``, a process)."""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import ModelDir
from ecgpipe.data import manifest

from ..conftest import DATA, PROJECT, TRAIN, tool_env, trained
from .test_resume import kill_after_epoch
from .test_rhythm import write_rhythm_folder

SEED = 20261206
EVALUATE = ("evaluate.n_bootstrap=20",)

# Damage kinds. Each takes the file's bytes and returns the damaged bytes.
BOM = b"\xef\xbb\xbf"
KEEPS_CONTENT = ("bom", "crlf", "utf16")
"""Re-encodings: the file still says the same thing."""


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _json_types(rng: random.Random, data: bytes) -> bytes:
    """The same JSON with a mapping, or one of its values, of another type."""
    wrong = [[1, 2], 3, "text", None, True, {"x": 1}, 2.5]
    raw = json.loads(data)
    if isinstance(raw, dict) and raw and rng.random() < 0.7:
        key = rng.choice(sorted(raw))
        raw[key] = rng.choice([w for w in wrong if type(w) is not type(raw[key])])
    else:
        raw = rng.choice([w for w in wrong if not isinstance(w, dict)])
    return json.dumps(raw, indent=2).encode()


def _yaml_types(rng: random.Random, data: bytes) -> bytes:
    """The same YAML with a section, or a key of one, of another type."""
    raw = yaml.safe_load(data)
    wrong = [[1, 2], 3, "text", None, {"x": 1}]
    section = rng.choice(sorted(raw))
    if isinstance(raw[section], dict) and raw[section] and rng.random() < 0.6:
        key = rng.choice(sorted(raw[section]))
        raw[section][key] = rng.choice(wrong)
    else:
        raw[section] = rng.choice([w for w in wrong if not isinstance(w, dict)])
    return yaml.safe_dump(raw).encode() if rng.random() < 0.8 else json.dumps([raw]).encode()


DAMAGE: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "truncate": _truncate,
    "flip": _flip,
    "random": lambda rng, data: rng.randbytes(rng.randint(1, 2048)),
    "empty": lambda rng, data: b"",
    "bom": lambda rng, data: BOM + data,
    "crlf": lambda rng, data: data.replace(b"\n", b"\r\n"),
    "utf16": lambda rng, data: data.decode("utf-8").encode("utf-16"),
    "json_types": _json_types,
    "yaml_types": _yaml_types,
}
BYTES = ("truncate", "flip", "random", "empty")
JSON = (*BYTES, *KEEPS_CONTENT, "json_types")


def kinds(rng: random.Random, names: tuple[str, ...], n: int) -> list[str]:
    """``n`` damage kinds: each of ``names`` once, then at random (deterministic in ``rng``)."""
    return [*names, *(rng.choice(names) for _ in range(n - len(names)))][:n]


# The property.
@dataclass(frozen=True)
class State:
    folders: frozenset[Path]
    runs: dict[str, str]
    temporary: frozenset[Path]
    """``.NAME.PID.XXXX.tmp``: a killed process's are there before (the next write sweeps them)."""


def mlflow_runs(root: Path) -> dict[str, str]:
    """Run id -> status of every run in the project's store (none if it has no store)."""
    if not (root / "mlflow.db").is_file():
        return {}
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return {r.info.run_id: r.info.status for r in client.search_runs(experiments)}


def state(root: Path) -> State:
    folders = frozenset(p for p in root.rglob("*") if p.is_dir())
    return State(folders, mlflow_runs(root), frozenset(root.rglob(".*.tmp")))


SEEN: Counter[str] = Counter()
"""What each damage led to (``-s`` prints it at the end of each test)."""


def check(
    root: Path, before: State, code: int, log: str, names: tuple[str, ...], context: str
) -> None:
    """Exit 0, or one ``error:`` line naming one of ``names`` and nothing left behind."""
    assert "Traceback" not in log, f"{context}\n{log}"
    what = context.split(" mutation")[0]
    if code == 0:
        SEEN[f"{what}: exit 0"] += 1
        return
    errors = [line for line in log.splitlines() if "error:" in line]
    assert len(errors) == 1, f"{context}: {errors}\n{log[-3000:]}"
    assert any(n in errors[0] for n in names), f"{context}: {errors[0]} names none of {names}"
    after = state(root)
    assert after.folders <= before.folders, (
        f"{context}: left {sorted(after.folders - before.folders)}"
    )
    added = {i: s for i, s in after.runs.items() if i not in before.runs and s != "FINISHED"}
    assert not added, f"{context}: MLflow runs left {added}"
    assert after.temporary <= before.temporary, f"{context}: temporary files left"
    why = errors[0].split("error: ", 1)[-1]
    for name in names:
        why = why.replace(name, "FILE")
    SEEN[f"{what}: {re.sub(r'[0-9]+', '#', re.sub(r'[(].*', '', why))[:90]}"] += 1


@pytest.fixture(autouse=True)
def _summary():
    SEEN.clear()
    yield
    for what, n in sorted(SEEN.items()):
        print(f"  {n:3d}  {what}")


def ecgpipe(root: Path, caplog, *argv: str) -> tuple[int, str]:
    """``ecgpipe --root ROOT ARGV`` in this process: its exit code and log."""
    caplog.clear()
    with caplog.at_level(logging.INFO), pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        try:
            code = main(["--root", str(root), *argv])
        except Exception as err:  # the property: never a traceback
            command = f"ecgpipe --root {root} {' '.join(argv)}"
            pytest.fail(f"{command} raised {type(err).__name__}: {err}")
    return code, caplog.text


def compose(root: Path, *overrides: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["--root", str(root), "compose", *overrides]) == 0


# Fixtures: trained once per module.
@pytest.fixture(scope="module")
def model_project(data_project: Path, tmp_path_factory) -> Path:
    """A trained tiny network, evaluated once (the reference for the re-encoded files)."""
    root, _ = trained(data_project, tmp_path_factory.mktemp("fuzz-model") / "p", "cnn1d", *EVALUATE)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["--root", str(root), "evaluate"]) == 0
    return root


@pytest.fixture(scope="module")
def interrupted(data_project: Path, tmp_path_factory) -> Path:
    """A training SIGKILLed after its first epoch, composed to resume."""
    root = tmp_path_factory.mktemp("fuzz-killed") / "p"
    shutil.copytree(data_project, root)
    epochs = ("train.max_epochs=2", "train.early_stopping_patience=10", "train.batch_size=16")
    compose(root, *DATA, *epochs, *EVALUATE)
    kill_after_epoch(root, 0)
    compose(root, *DATA, *epochs, *EVALUATE, "train.resume=true")
    return root


# 1. params.yaml
N_PARAMS = 40


@pytest.mark.slow
def test_params_yaml(data_project: Path, tmp_path: Path, caplog):
    rng = random.Random(SEED)
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    params = root / "params.yaml"
    clean = params.read_bytes()
    reference = load_params(params)
    for i, kind in enumerate(kinds(rng, (*BYTES, *KEEPS_CONTENT, "yaml_types"), N_PARAMS)):
        params.write_bytes(DAMAGE[kind](rng, clean))
        before = state(root)
        code, log = ecgpipe(root, caplog, "split")
        context = f"params.yaml mutation {i} ({kind})"
        check(root, before, code, log, (str(params), "params"), context)
        if kind in KEEPS_CONTENT:
            assert code == 0, f"{context}: {log[-2000:]}"
            assert load_params(params) == reference, context
    params.write_bytes(clean)


# 2. train.init_from
N_INIT = 8


@pytest.mark.slow
def test_init_from_checkpoint(model_project: Path, data_project: Path, tmp_path: Path, caplog):
    import torch

    rng = random.Random(SEED + 2)
    clean = ModelDir(model_project / "models").checkpoint.read_bytes()
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    given = tmp_path / "given"
    given.mkdir()
    saved = torch.load(model_project / "models/best.ckpt", map_location="cpu", weights_only=False)

    def wrong_types(rng: random.Random, data: bytes) -> bytes:
        choice = rng.choice(
            [[1, 2], 3, {"epoch": 1}, {**saved, "state_dict": [1]}, {**saved, "state_dict": {}},
             {**saved, "hyper_parameters": [1]}]
        )  # fmt: skip
        torch.save(choice, given / "wrong.pt")
        return (given / "wrong.pt").read_bytes()

    damage = DAMAGE | {"torch_types": wrong_types}
    for i, kind in enumerate(kinds(rng, (*BYTES, "torch_types", "backslash"), N_INIT)):
        file = given / "best.ckpt"
        if kind == "backslash":  # a Windows path to a file that exists, spelled with \
            file.write_bytes(clean)
            ref = f"{given.name}\\best.ckpt"
            shutil.rmtree(root / given.name, ignore_errors=True)
            shutil.copytree(given, root / given.name)
        else:
            file.write_bytes(damage[kind](rng, clean))
            ref = str(file)
        compose(root, *DATA, "model=cnn1d", *TRAIN, f"train.init_from={ref}")
        before = state(root)
        code, log = ecgpipe(root, caplog, "train")
        context = f"init_from mutation {i} ({kind})"
        check(root, before, code, log, ("train.init_from",), context)


# 3. train.resume
N_RESUME = 12


@pytest.mark.slow
def test_resume_state(interrupted: Path, tmp_path: Path, caplog):
    rng = random.Random(SEED + 3)
    names = ("checkpoints/last.ckpt", "checkpoints/run.json")
    for i in range(N_RESUME):
        root = tmp_path / f"p{i}"
        shutil.copytree(interrupted, root)
        name = names[i % 2]
        file = root / name
        kind = BYTES[i // 2 % len(BYTES)] if i % 2 == 0 else JSON[(i // 2) % len(JSON)]
        file.write_bytes(DAMAGE[kind](rng, file.read_bytes()))
        before = state(root)
        code, log = ecgpipe(root, caplog, "train")
        context = f"resume mutation {i} ({name}, {kind})"
        check(root, before, code, log, (str(file),), context)
        if code != 0:
            assert "train.resume=false" in log, context
        shutil.rmtree(root)


# 4. The model folder evaluate reads
N_EVALUATE = 10


@pytest.mark.slow
def test_model_folder(model_project: Path, tmp_path: Path, caplog):
    rng = random.Random(SEED + 4)
    model = ModelDir(model_project / "models")
    files = [
        f for f in (model.run, model.thresholds, model.factors, model.normalization) if f.is_file()
    ]
    reference = json.loads((model_project / "metrics/test.json").read_text())
    for i in range(N_EVALUATE):
        root = tmp_path / f"p{i}"  # a new path: MLflow keeps each store's connection open
        shutil.copytree(model_project, root)
        for stale in ("metrics", "plots", "reports"):
            shutil.rmtree(root / stale, ignore_errors=True)
        file = root / "models" / files[i % len(files)].name
        kind = JSON[i] if i < len(JSON) else "json_types"  # then the types, of each file
        file.write_bytes(DAMAGE[kind](rng, file.read_bytes()))
        before = state(root)
        code, log = ecgpipe(root, caplog, "evaluate")
        context = f"evaluate mutation {i} ({file.name}, {kind})"
        check(root, before, code, log, (str(file),), context)
        if code == 0 and kind in ("crlf",):
            assert json.loads((root / "metrics/test.json").read_text()) == reference, context
        shutil.rmtree(root)


# 4b. A logged model's folder (MLflow's: MLmodel, the pickled model, its environment files)
N_LOGGED = 16


@pytest.mark.slow
def test_logged_model(model_project: Path, tmp_path: Path, caplog):
    import mlflow

    rng = random.Random(SEED + 7)
    run_id = ModelDir(model_project / "models").run_id()
    mlflow.set_tracking_uri(f"sqlite:///{model_project / 'mlflow.db'}")
    clean = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=tmp_path))
    files = sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file())
    files = [f for f in files if f.parts[0] != "code"]  # ecgpipe's own source travels along
    record = next((model_project / "data/prepared/source").rglob("*.hea")).with_suffix("")
    for i, kind in enumerate(kinds(rng, (*BYTES, "crlf", "yaml_types"), N_LOGGED)):
        model = tmp_path / f"m{i}"
        shutil.copytree(clean, model)
        file = model / files[i % len(files)]
        yaml_file = file.suffix == ".yaml" or file.name == "MLmodel"
        if (kind == "yaml_types" and not yaml_file) or (kind == "crlf" and file.suffix == ".pkl"):
            kind = BYTES[i % len(BYTES)]  # YAML types in YAML only; the pickle is not text
        file.write_bytes(DAMAGE[kind](rng, file.read_bytes()))
        out = tmp_path / f"m{i}.csv"
        before = state(model_project)
        code, log = ecgpipe(
            model_project, caplog, "predict", str(record), "--model", str(model), "--out", str(out)
        )
        context = f"logged model mutation {i} ({file.relative_to(model)}, {kind})"
        check(model_project, before, code, log, (str(model),), context)
        assert code == 0 or not out.exists(), context


# 5. A WFDB folder's labels.csv
N_LABELS = 30


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory) -> Path:
    """Eight single-lead records, half of them in ``sub/``, and their labels.csv."""
    folder = write_rhythm_folder(tmp_path_factory.mktemp("fuzz-wfdb") / "own", 8)
    (folder / "sub").mkdir()
    lines = (folder / "labels.csv").read_text().splitlines()
    for k, line in enumerate(lines[1:]):
        if k % 2:
            name = line.split(",")[0]
            for f in folder.glob(f"{name}.*"):
                f.rename(folder / "sub" / f.name)
            lines[k + 1] = f"sub/{line}"
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def _fresh(project: Path, folder: Path) -> None:
    """The project as before its first ``prepare`` of ``folder``."""
    for stale in ("data", "reports", "metrics"):
        shutil.rmtree(project / stale, ignore_errors=True)
    data = ("data=wfdb_folder", f"data.root={folder}", "data.classes=[N,A]")
    compose(project, *data, "validate.max_excluded_fraction=1")  # exclusions: not a refusal


@pytest.mark.slow
def test_labels_csv(labelled_folder: Path, tmp_path: Path, caplog):
    rng = random.Random(SEED + 5)
    project = tmp_path / "p"
    shutil.copytree(PROJECT / "conf", project / "conf")
    _fresh(project, labelled_folder)
    code, log = ecgpipe(project, caplog, "prepare")
    assert code == 0, log
    columns = ["record_id", "labels", "patient_id"]
    reference = manifest.read(project / "data/prepared/manifest.csv")[columns]
    assert ecgpipe(project, caplog, "validate")[0] == 0
    kept = manifest.read(project / "data/validated/manifest.csv")[columns]

    def backslash(rng: random.Random, data: bytes) -> bytes:
        return data.replace(b"sub/", b"sub\\")

    damage = DAMAGE | {"backslash": backslash}
    all_kinds = (*BYTES, *KEEPS_CONTENT, "backslash")
    for i, kind in enumerate(kinds(rng, all_kinds, N_LABELS)):
        folder = tmp_path / "own"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(labelled_folder, folder)
        labels = folder / "labels.csv"
        labels.write_bytes(damage[kind](rng, labels.read_bytes()))
        _fresh(project, folder)
        before = state(project)
        code, log = ecgpipe(project, caplog, "prepare")
        context = f"labels.csv mutation {i} ({kind})"
        check(project, before, code, log, (str(labels),), context)
        if code != 0:
            continue
        got = manifest.read(project / "data/prepared/manifest.csv")[columns]
        if kind in (*KEEPS_CONTENT, "backslash"):
            assert got.equals(reference), f"{context}:\n{got}\n{reference}"
            assert ecgpipe(project, caplog, "validate")[0] == 0, context
            validated = manifest.read(project / "data/validated/manifest.csv")[columns]
            assert validated.equals(kept), context
        else:  # as dvc repro: validate runs on what prepare made
            before = state(project)
            code, log = ecgpipe(project, caplog, "validate")
            check(project, before, code, log, (str(labels), "validate"), f"{context}, validate")


# 6. An Optuna storage
@pytest.mark.slow
def test_optuna_storage(tiny_project: Path):
    """On the shared tiny DVC project (a sweep needs ``dvc repro``'s data): each damaged storage
    in a folder of its own, removed at the end."""
    import optuna

    rng = random.Random(SEED + 6)
    root = tiny_project
    (root / "fuzz-optuna").mkdir()
    db = root / "fuzz-optuna" / "optuna.db"
    optuna.create_study(study_name="made", storage=f"sqlite:///{db}")
    clean = db.read_bytes()
    for i, kind in enumerate(("truncate", "random", "flip")):
        db.write_bytes(DAMAGE[kind](rng, clean) if kind != "flip" else _flip_header(clean))
        before = state(root)
        proc = subprocess.run(
            ["ecgpipe-sweep", "-m", f"hydra.sweep.dir=multirun/fuzz{i}", "hparams_search=optuna",
             "hydra.sweeper.study_name=fuzz", "hydra.sweeper.n_trials=1",
             f"hydra.sweeper.storage=sqlite:///{db}"],
            cwd=root, env=tool_env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        context = f"optuna storage mutation {i} ({kind})"
        check(
            root, before, proc.returncode, proc.stderr, (str(db), "hydra.sweeper.storage"), context
        )
    shutil.rmtree(root / "fuzz-optuna")


def _flip_header(data: bytes) -> bytes:
    """SQLite's page-size and format bytes garbled (the file's first 100 bytes)."""
    out = bytearray(data)
    out[16:24] = b"\xff" * 8
    return bytes(out)
