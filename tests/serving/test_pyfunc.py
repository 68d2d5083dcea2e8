"""The model ``train`` logs to MLflow: whole records in, evaluate's numbers out; it loads from its
own requirements in a fresh environment and answers HTTP under ``mlflow models serve``."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.stages import evaluate

from ..conftest import free_port, service, tool_env, trained

SERVED = {"mlflow-skinny", "torch", "numpy", "scipy", "pandas", "cloudpickle", "scikit-learn"}
"""The logged model's requirements: what loading and scoring it needs, no more (mlflow-skinny:
none of the tracking server's packages)."""


def load(root: Path, uri: str):
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    return mlflow.pyfunc.load_model(uri)


@pytest.mark.parametrize("model", ["cnn1d", "spectro2d"])
def test_logged_model_gives_each_test_record_what_evaluate_computed(
    data_project, cnn, tmp_path, model
):
    more = ("train.max_epochs=3", "trainer.limit_train_batches=5")  # probabilities that spread
    root, uri = cnn if model == "cnn1d" else trained(data_project, tmp_path / "p", model, *more)
    paths = Paths(root)
    dm, _, expected = evaluate.test_scores(load_params(paths.params), paths)
    assert np.ptp(expected, axis=0).max() > 0.01  # parity at 1e-5 of scores that differ
    records = np.stack([np.asarray(dm.cache.signal(r)) for r in dm.rows["test"]])
    out = load(root, uri).predict(records)
    classes = dm.cache.classes
    np.testing.assert_allclose(out[[f"p_{c}" for c in classes]].to_numpy(), expected, atol=1e-5)
    thresholds = json.loads((paths.models / "thresholds.json").read_text())
    labels = [
        ";".join(c for c, p in zip(classes, row, strict=True) if p >= thresholds[c])
        for row in expected
    ]
    assert list(out["labels"]) == labels


def test_logged_model_says_what_it_takes(cnn):
    root, uri = cnn
    model = load(root, uri)
    contract = model.metadata.metadata["ecgpipe"]
    assert contract["fs"] == 100 and len(contract["leads"]) == 12
    assert contract["window"] == 250 and contract["stride"] == 125
    assert contract["preprocess"]["bandpass"]["enabled"] is True
    inputs = model.metadata.get_input_schema().inputs[0]
    assert inputs.shape == (-1, 12, -1)
    outputs = model.metadata.get_output_schema().input_names()
    assert outputs[-2:] == ["labels", "set"] and outputs[0] == "p_CD"
    assert contract["conformal"]["kind"] == "mondrian" and contract["conformal"]["alpha"] == 0.1
    folder = Path(model.metadata.artifact_path.removeprefix("file://"))
    pins = dict(line.split("==") for line in (folder / "requirements.txt").read_text().split())
    assert set(pins) == SERVED
    assert "+" not in pins["torch"]  # any build of the release: CPU or CUDA where it is served
    assert (folder / "code/ecgpipe/serving/model.py").is_file()  # the source travels with it
    assert not list((folder / "code").rglob("__pycache__"))


def test_mlflow_models_serve_answers_a_request(cnn, tmp_path):
    root, uri = cnn
    model = load(root, uri)
    example = json.loads(
        (
            Path(model.metadata.artifact_path.removeprefix("file://"))
            / "serving_input_example.json"
        ).read_text()
    )
    port = free_port()
    env = tool_env() | {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    argv = ["mlflow", "models", "serve", "-m", uri, "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with service([*argv, "--env-manager", "local"], f"{url}/ping", log, cwd=root, env=env):
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(example).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())["predictions"]
    expected = model.predict(np.asarray(example["inputs"], np.float32))
    assert [row["labels"] for row in answer] == list(expected["labels"])
    np.testing.assert_allclose([row["p_CD"] for row in answer], expected["p_CD"], atol=1e-6)


@pytest.mark.slow
def test_model_predicts_in_a_fresh_environment_from_its_own_requirements(cnn, tmp_path):
    """Only what ``requirements.txt`` names, from the package index; ecgpipe travels with it."""
    root, uri = cnn
    model = load(root, uri)
    folder = Path(model.metadata.artifact_path.removeprefix("file://"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-r", str(folder / "requirements.txt")], check=True, timeout=1200)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON"))}
    check = subprocess.run(
        [str(venv / "bin/python"), "-c", "import ecgpipe"], env=clean, capture_output=True
    )
    assert check.returncode != 0  # not installed there: it must come with the model
    predict = [str(venv / "bin/mlflow"), "models", "predict", "-m", str(folder), "-t", "json"]
    files = ["-i", str(folder / "serving_input_example.json"), "-o", str(tmp_path / "out.json")]
    proc = subprocess.run(
        [*predict, *files, "--env-manager", "local"],
        env=clean | {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())["predictions"]
    example = json.loads((folder / "serving_input_example.json").read_text())
    expected = model.predict(np.asarray(example["inputs"], np.float32))
    np.testing.assert_allclose([r["p_MI"] for r in got], expected["p_MI"], atol=1e-6)
    assert [r["labels"] for r in got] == list(expected["labels"])


def test_the_logged_model_under_bad_input(cnn):
    """NaN is refused, not scored; what casts safely to float32 is cast; the network inside is
    an ordinary ``nn.Module``."""
    root, uri = cnn
    model = load(root, uri)
    x = np.zeros((1, 12, 1000), np.float32)
    x[0, 3, 10:20] = 0.5
    base = model.predict(x)
    nan = x.copy()
    nan[0, 4, 7] = np.nan
    with pytest.raises(Exception, match=r"record 0: 1 NaN or infinite samples \(leads AVL\)"):
        model.predict(nan)
    with pytest.raises(Exception, match=r"dtype of input float64 does not match .* float32"):
        model.predict(x.astype(np.float64))  # the signature's rule: one line, never a cast
    net = model.unwrap_python_model().model  # the network inside casts what converts safely
    whole = np.round(x * 4)  # integer-valued samples, exact in every dtype below
    expected = net.score([whole[0].astype(np.float32)])
    for dtype in (np.float64, np.int16, np.int32):
        np.testing.assert_allclose(net.score([whole[0].astype(dtype)]), expected, atol=1e-6)
    with pytest.raises(Exception, match="samples must be real numbers, not complex128"):
        net.score([x[0].astype(np.complex128)])
    assert net.eval() is net and not net.training
    probs = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(probs, base.filter(like="p_").to_numpy(), atol=1e-5)
    with pytest.raises(Exception, match="NaN or infinite"):
        net(torch.from_numpy(nan))
