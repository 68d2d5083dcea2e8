"""Stage ``prepare``: produce a dataset and its manifest in ``data/prepared``.

``data=synthetic`` generates a dataset in PTB-XL's layout under ``data/prepared/source`` and reads
it with the PTB-XL reader; ``data=ptbxl``, ``data=cinc2017``, ``data=mitdb`` and
``data=wfdb_folder`` read the folder at ``data.root``: each name has its reader in the registry
:mod:`ecgpipe.data.readers`.
"""

from __future__ import annotations

import logging

from ecgpipe.config.schema import Config
from ecgpipe.core.paths import Paths
from ecgpipe.data import readers
from ecgpipe.data.manifest import decode_labels

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> None:
    df, info = readers.prepare(cfg.data, paths, paths.prepared)
    unlabelled = sum(not decode_labels(x) for x in df["labels"][df["label_error"] == ""])
    refused = int((df["label_error"] != "").sum())
    log.info(
        "prepare: %d records, %d patients, task %s (%s), %s%s -> %s",
        len(df),
        df["patient_id"].nunique(),
        info.task,
        ", ".join(info.classes),
        "beats labelled by their annotations"
        if info.label_kind == "beat"
        else f"{unlabelled} without a label for it",
        f", {refused} whose labels are refused (validate excludes them)" if refused else "",
        paths.prepared.relative_to(paths.root),
    )
