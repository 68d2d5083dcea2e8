"""The MLflow ``pyfunc`` face of a :class:`~ecgpipe.serving.model.RecordModel`.

``mlflow.pyfunc.load_model(uri).predict(x)`` takes records as a float32 array (B, leads, T) in mV
at the model's sampling rate and lead order (``T`` any length of at least
``contract.min_samples``) and returns a table: one row per record, a ``p_<class>`` column per
class and ``labels``, the predicted classes joined by ``;``, and ``set``, its split-conformal
prediction set (:meth:`~ecgpipe.serving.model.Contract.sets`; models logged before have none).
The model travels with this package's source (``code_paths``), so loading it needs only the
requirements logged beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from ecgpipe.serving.model import RecordModel


class RecordScorer(PythonModel):
    def __init__(self, model: RecordModel):
        self.model = model

    def predict(self, context, model_input: np.ndarray, params=None) -> pd.DataFrame:
        records = np.asarray(model_input)
        if records.ndim == 2 and not self.model.per_beat:
            records = records[None]  # one record
        probs = self.model.score(list(records))
        return table(self.model, probs)


def table(model: RecordModel, probs: np.ndarray) -> pd.DataFrame:
    """Per-class probability columns and the decided labels, a row per record."""
    out = pd.DataFrame(probs, columns=[f"p_{c}" for c in model.contract.classes])
    out["labels"] = [";".join(labels) for labels in model.decide(probs)]
    if (sets := model.contract.sets(probs)) is not None:
        out["set"] = sets
    return out
