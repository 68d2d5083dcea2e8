"""The served model in MLflow: logged as a ``pyfunc`` that carries ecgpipe's source, and loaded
back from a project's ``models/``, a model folder or a ``runs:``/``models:`` URI."""

from __future__ import annotations

import logging
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import yaml
from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
from mlflow.exceptions import MlflowException

import ecgpipe
from ecgpipe.config.schema import MlflowConfig
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import ModelDir
from ecgpipe.tracking.store import environ, store

if TYPE_CHECKING:
    from ecgpipe.serving.model import RecordModel


DAMAGED = (
    pickle.UnpicklingError,  # python_model.pkl truncated or overwritten
    EOFError,  # ... or empty
    ValueError,  # MLmodel not text (UnicodeDecodeError) or not YAML
    yaml.YAMLError,
    AttributeError,  # MLmodel empty, or another YAML document
    TypeError,
    KeyError,
)
"""What damage to a model folder's files raises as MLflow reads them."""


def first_line(err: BaseException) -> str:
    """An error's first line (MLflow's messages can run to a page)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


SERVING_REQUIREMENTS = (
    "mlflow-skinny",
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "cloudpickle",
    "scikit-learn",
)
"""What loading and scoring the logged model needs: the imports of :mod:`ecgpipe.serving` (whose
source travels with the model). Stated rather than inferred: MLflow's inference loads the model
in a subprocess (~12 s a run). ``mlflow-skinny``, not ``mlflow``: it loads, predicts and serves
(``mlflow models predict``/``serve``) without the tracking server's UI and database packages
(353 MB fewer in the model's environment)."""


def log_record_model(model: RecordModel, example: np.ndarray) -> None:
    """Log ``model`` as the run's ``model``: an MLflow ``pyfunc`` carrying ecgpipe's source
    (``code_paths``), its pinned requirements, signature, input example and contract."""
    from importlib.metadata import version

    from mlflow.models import ModelSignature
    from mlflow.models.signature import infer_signature
    from mlflow.types import Schema, TensorSpec

    from ecgpipe.serving.pyfunc import RecordScorer, table

    shape = (-1, example.shape[1]) if example.ndim == 2 else (-1, example.shape[1], -1)
    outputs = infer_signature(example, table(model, model.score(list(example)))).outputs
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    with tempfile.TemporaryDirectory(prefix="ecgpipe-code-") as tmp:
        code = shutil.copytree(
            Path(ecgpipe.__file__).parent,
            Path(tmp) / "ecgpipe",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        # its warning that pickled models run code when loaded: ours are ecgpipe's own classes
        pyfunc_log.setLevel(logging.ERROR)
        try:
            mlflow.pyfunc.log_model(
                name="model",
                python_model=RecordScorer(model),
                code_paths=[str(code)],
                pip_requirements=[f"{n}=={version(n).split('+')[0]}" for n in SERVING_REQUIREMENTS],
                signature=ModelSignature(
                    Schema([TensorSpec(np.dtype(np.float32), shape)]), outputs
                ),
                input_example=example,
                metadata={"ecgpipe": model.contract.to_dict()},
            )
        finally:
            pyfunc_log.setLevel(level)


def load_record_model(ref: str, cfg: MlflowConfig, root: Path) -> tuple[RecordModel, str]:
    """The served model ``ref`` names and the URI it was loaded from.

    ``ref``: a project's ``models/`` folder (the run ``train`` recorded in its ``run.json``),
    a folder holding an MLflow model, or a URI (``runs:/ID/model``, ``models:/NAME@ALIAS``), read
    from the project's store.
    """
    from ecgpipe.serving.pyfunc import RecordScorer

    folder = Path(ref) if Path(ref).is_absolute() else root / ref
    uri = ref
    if ModelDir(folder).run.is_file():
        uri = f"runs:/{ModelDir(folder).run_id()}/model"
    elif (folder / "MLmodel").is_file():
        uri = str(folder)
    elif "://" not in ref and not ref.startswith(("runs:", "models:")):
        raise PipelineError(
            f"{ref}: no trained model here (no run.json or MLmodel); give runs:/ID/model, "
            "models:/NAME@ALIAS, or run `dvc repro train` first"
        )
    with store(cfg, root), environ(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, "false"):
        try:
            loaded = mlflow.pyfunc.load_model(uri)
        except (MlflowException, OSError) as err:
            raise PipelineError(f"cannot load the model {uri}: {first_line(err)}") from None
        except DAMAGED as err:  # a file of the model folder cut short, or another program's
            raise PipelineError(
                f"{uri}: not a model ecgpipe can load ({type(err).__name__}: {first_line(err)}); "
                "a file of it is damaged: log it again with `dvc repro train`, or give another"
            ) from None
    try:
        scorer = loaded.unwrap_python_model()
    except MlflowException:
        scorer = None
    if not isinstance(scorer, RecordScorer):
        raise PipelineError(
            f"{uri} is not an ecgpipe record model (or was logged by an older ecgpipe); "
            "retrain with `dvc repro train`"
        )
    return scorer.model, uri
