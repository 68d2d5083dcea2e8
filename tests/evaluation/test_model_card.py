"""The model card from plain values: every section, the honest defaults (no external set, no
failing patient), and a run with uncommitted changes said so in the command that reproduces it."""

from ecgpipe.evaluation import model_card


def card(**changes) -> model_card.Card:
    values = dict(
        name="ecgpipe-mitdb-aami_beats",
        model="beat_gbm",
        dataset="mitdb",
        task="aami_beats",
        unit="beats",
        classes=["N", "S", "V"],
        leads=["MLII"],
        fs=360.0,
        data_root="/data/mitdb",
        splits={"train": {"records": 900, "patients": 9}, "test": {"records": 300, "patients": 3}},
        dates=None,
        preprocess={"fs": 180, "bandpass": {"enabled": True, "low_hz": 0.5, "high_hz": 45.0}},
        test={"n_records": 300, "n_groups": 3, "accuracy": 0.9, "accuracy_ci": [0.8, 0.95],
              "per_patient": [{"patient": "207", "records": ["207"], "n": 100, "n_wrong": 0}]},
        headline=["accuracy"],
        run_id="abc123",
        commit="0123abcd-dirty",
    )  # fmt: skip
    return model_card.Card(**values | changes)


def test_every_section_is_there_with_the_figures_and_the_command():
    text = model_card.render(card())
    for section in (
        "Intended use",
        "Training data",
        "Preprocessing",
        "Test figures",
        "Known failures",
        "External validation",
        "Reproduce",
    ):
        assert f"## {section}" in text, section  # fmt: skip
    assert "`beat_gbm` labels beats of 1-lead ECG (MLII) at 360 Hz" in text
    assert "| train | 900 | 9 |" in text and "| Accuracy | 0.900 [0.800, 0.950] |" in text
    assert "band-pass 0.5-45 Hz; notch none" in text
    assert "No test patient has a wrong label." in text
    assert "None configured" in text
    assert "git checkout 0123abcd   # the run had uncommitted changes" in text
    assert "mlflow artifacts download -r abc123 -a config/params.yaml -d ." in text


def test_external_sets_and_failing_patients_are_listed():
    worst = {"patient": "207", "records": ["207", "a", "b", "c"], "n": 100, "n_wrong": 40}
    test = card().test | {"per_patient": [worst]}
    text = model_card.render(card(external={"ds2": "/data/ds2"}, test=test, commit="0123abcd"))
    assert "| 207 | 207, a, b and 1 more | 100 | 40 (40%) |" in text
    assert "`ds2` (`/data/ds2`): `dvc repro external@ds2`" in text
    assert "git checkout 0123abcd\n" in text
