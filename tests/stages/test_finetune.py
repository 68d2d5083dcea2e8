"""``train.init_from``: the registry's champion, trained on the synthetic PTB-XL superclasses,
fine-tuned on a folder of WFDB records with another class set, through the real stages and a
real MLflow store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.models import lead_order
from ecgpipe.tracking.model_io import load_record_model
from ecgpipe.training.classifier import load_checkpoint

from ..conftest import DATA, TRAIN, trained

CHAMPION = "models:/ecgpipe-synthetic-superdiagnostic@champion"
STAGES = ("prepare", "validate", "preprocess", "split", "train")


def other_folder(project: Path, where: Path) -> Path:
    """60 of the project's generated records, labelled NORM or ABN (a two-class task)."""
    source = project / "data/prepared/source/records100/00000"
    rows = []
    for i in range(1, 61):
        name = f"{i:05d}_lr"
        for ext in (".hea", ".dat"):
            (where / "ward").mkdir(parents=True, exist_ok=True)
            shutil.copy(source / f"{name}{ext}", where / "ward" / f"{name}{ext}")
        rows.append({"record": f"ward/{name}", "labels": "NORM" if i % 2 else "ABN"})
    pd.DataFrame(rows).to_csv(where / "labels.csv", index=False)
    return where


def test_the_champion_is_fine_tuned_on_another_class_set_and_the_run_says_so(
    data_project: Path, tmp_path: Path, caplog
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    assert main(["--root", str(root), "compose", *DATA, *TRAIN]) == 0
    for stage in ("train", "evaluate"):  # evaluate registers the champion
        assert main(["--root", str(root), stage]) == 0, stage
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    pretrained = client.get_model_version_by_alias(
        "ecgpipe-synthetic-superdiagnostic", "champion"
    ).run_id

    folder = other_folder(root, tmp_path / "folder")
    overrides = (
        "data=wfdb_folder",
        f"data.root={folder}",
        "split.strategy=stratified",
        f"train.init_from={CHAMPION}",
        "train.freeze_epochs=1",
        "train.max_epochs=2",
        "train.batch_size=16",
    )
    assert main(["--root", str(root), "compose", *overrides]) == 0
    with caplog.at_level("INFO", logger="ecgpipe"):
        for stage in STAGES:
            assert main(["--root", str(root), stage]) == 0, stage
    assert f"train: starting from {CHAMPION} (cnn1d; a new head for ABN, NORM)" in caplog.text

    run_id = (root / "models/run.json").read_text().split('"run_id": "')[1].split('"')[0]
    run = client.get_run(run_id)
    assert run.data.tags["init_from"] == CHAMPION
    assert run.data.tags["init_from.run_id"] == pretrained
    assert run.data.tags["init_from.head"] == "new"
    assert run.data.tags["init_from.classes"] == "CD,HYP,MI,NORM,STTC"
    contexts = {
        (i.dataset.name, t.value)
        for i in run.inputs.dataset_inputs
        for t in i.tags
        if t.key == "mlflow.data.context"
    }
    assert ("synthetic-train", "pretraining") in contexts  # what the champion learnt on
    assert ("wfdb_folder-train", "training") in contexts
    assert run.data.params["train.freeze_epochs"] == "1"


def test_a_model_of_the_same_leads_in_another_order_reads_each_lead_where_it_was_trained(
    data_project: Path, tmp_path: Path, caplog
):
    """The data's leads reversed (``preprocess.leads``): mapped by name onto the checkpoint's,
    and the served model's contract is the data's order, which ``predict`` maps records onto."""
    source, _ = trained(data_project, tmp_path / "source", "cnn1d")
    checkpoint = source / "models/best.ckpt"
    leads = load_checkpoint(checkpoint).network.leads
    assert leads is not None and len(leads) == 12
    backwards = leads[::-1]
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    overrides = (f"preprocess.leads=[{','.join(backwards)}]", f"train.init_from={checkpoint}")
    assert main(["--root", str(root), "compose", *DATA, *TRAIN, *overrides]) == 0
    with caplog.at_level("INFO", logger="ecgpipe"):
        for stage in ("preprocess", "split", "train"):
            assert main(["--root", str(root), stage]) == 0, stage
    assert (
        f"train: starting from {checkpoint} (cnn1d; its head kept; the data's leads read in its "
        f"order, {', '.join(leads)})" in caplog.text
    )
    tuned = load_checkpoint(root / "models/best.ckpt")
    assert tuned.network.leads == backwards
    assert lead_order.input_order(tuned.net) == tuple(range(11, -1, -1))
    mlflow = load_params(root / "params.yaml").mlflow
    served, _ = load_record_model(str(root / "models"), mlflow, root)
    assert served.contract.leads == backwards
    assert lead_order.weights_leads(served.windows.net, served.contract.leads) == leads


def test_a_starting_point_of_random_bytes_is_named_as_the_users_file(
    data_project: Path, tmp_path: Path, caplog
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    given = tmp_path / "x.ckpt"
    given.write_bytes(bytes(range(256)) * 64)
    assert main(["--root", str(root), "compose", *DATA, *TRAIN, f"train.init_from={given}"]) == 0
    assert main(["--root", str(root), "train"]) == 1
    assert (
        f"ecgpipe train: error: train.init_from={given}: not a checkpoint ecgpipe can read "
        "(truncated, or another program's file); give a checkpoint `ecgpipe train` wrote "
        "(models/best.ckpt), runs:/ID/model or models:/NAME@ALIAS"
    ) in caplog.text
    assert not (root / "models").exists()
