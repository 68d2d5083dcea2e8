from functools import cache
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from ecgpipe.config.compose import compose_yaml
from ecgpipe.config.parse import load_params, parse_config
from ecgpipe.config.schema import Config, ConfigError, PtbxlDataConfig
from tests.conftest import PROJECT, conf


@cache
def _composed() -> str:
    return compose_yaml(PROJECT / "conf")


def params(data: dict | None = None, **sections: dict) -> dict:
    """The default composition, with ``data`` in place of its data section and each of
    ``sections`` merged into its own."""
    raw = yaml.safe_load(_composed())
    if data is not None:
        raw["data"] = data
    for name, values in sections.items():
        raw[name] = {**raw[name], **values}
    return raw


def test_defaults_parse_to_a_frozen_config():
    cfg = parse_config(params())
    assert cfg.data.name == "synthetic"
    assert cfg.validate_.policy == "exclude"
    with pytest.raises(ValueError):
        cfg.data = None  # frozen


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every config class it holds, through unions."""
    seen = {model}
    for field in model.model_fields.values():
        for kind in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for inner in (kind, *getattr(kind, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    seen |= _models(inner)
    return seen


def test_conf_is_the_one_home_of_every_default():
    """No config class carries a default: each value comes from conf/, and a key conf/ does
    not set is an error, not a silent second default."""
    with_defaults = sorted(
        f"{m.__name__}.{name}"
        for m in _models(Config)
        for name, field in m.model_fields.items()
        if not field.is_required()
    )
    assert with_defaults == []
    with pytest.raises(ConfigError, match=r"train\.lr: Field required"):
        raw = params()
        del raw["train"]["lr"]
        parse_config(raw)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"data\.n_recordz: unknown key \(did you mean n_records"):
        parse_config(params(data=conf("data", "synthetic", n_recordz=5)))
    with pytest.raises(ConfigError, match=r"bogus: unknown key"):
        parse_config(params() | {"bogus": 1})


def test_bad_value_is_named():
    with pytest.raises(ConfigError, match=r"validate\.policy: .*'exclude' or 'fail'.*'ignore'"):
        parse_config(params(validate={"policy": "ignore"}))
    with pytest.raises(ConfigError, match=r"data\.sampling_rate"):
        parse_config(params(data=conf("data", "synthetic", sampling_rate=250)))
    with pytest.raises(ConfigError, match=r"data\.n_records"):
        parse_config(params(data=conf("data", "synthetic", n_records=0)))


def test_data_group_is_chosen_by_name():
    cfg = parse_config(params(data=conf("data", "ptbxl", root="/x")))
    assert isinstance(cfg.data, PtbxlDataConfig)
    with pytest.raises(ConfigError, match=r"data: .*'synthetic', 'ptbxl'"):
        parse_config(params(data={"name": "mimic"}))


def test_ptbxl_source_must_be_its_root():
    with pytest.raises(ConfigError, match=r"must equal data\.root"):
        parse_config(params(data=conf("data", "ptbxl", root="/x", source="/y")))


def test_load_params_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"params\.yaml: not found.*ecgpipe compose"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_params(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: expected a mapping"):
        load_params(bad)


def test_load_params_reads_a_file(tmp_path: Path):
    path = tmp_path / "params.yaml"
    raw = params(split={"seed": 7}, validate={"max_excluded_fraction": 0.5})
    path.write_text(yaml.safe_dump(raw))
    cfg = load_params(path)
    assert isinstance(cfg, Config)
    assert (cfg.split.seed, cfg.validate_.max_excluded_fraction) == (7, 0.5)


def test_data_kinds_know_their_labels_and_folds():
    cinc = parse_config(params(data=conf("data", "cinc2017"), split={"strategy": "stratified"}))
    assert cinc.data.label_kind == "multiclass"
    assert (cinc.monitor, cinc.loss) == ("val/macro_f1", "ce")
    own = conf("data", "wfdb_folder", root="/o", label_kind="multilabel")
    own_cfg = parse_config(params(data=own))
    assert (own_cfg.monitor, own_cfg.loss) == ("val/macro_auroc", "bce")
    assert parse_config(params()).data.label_kind == "multilabel"


def test_settings_that_do_not_fit_the_data_are_refused_up_front():
    cinc = conf("data", "cinc2017")
    with pytest.raises(ConfigError, match=r"split\.strategy=folds needs the dataset's own folds"):
        parse_config(params(data=cinc))
    stratified = {"strategy": "stratified"}
    with pytest.raises(ConfigError, match=r"train\.loss=bce is for multilabel data; cinc2017 is"):
        parse_config(params(data=cinc, split=stratified, train={"loss": "bce"}))
    with pytest.raises(ConfigError, match=r"train\.monitor=val/macro_f1 is for single-label data"):
        parse_config(params(train={"monitor": "val/macro_f1"}))
    with pytest.raises(ConfigError, match="val/cinc2017_f1 needs data=cinc2017"):
        own = conf("data", "wfdb_folder", root="/o")
        parse_config(params(data=own, split=stratified, train={"monitor": "val/cinc2017_f1"}))


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"trainer": {"limit_val_batches": 0}}, r"trainer\.limit_val_batches: batches per epoch"),
        ({"trainer": {"limit_train_batches": 1.5}}, r"a fraction of them \(0 < f <= 1\); got 1\.5"),
        ({"trainer": {"devices": 0}}, r"trainer\.devices: .*count >= 1, -1 or auto"),
        ({"trainer": {"strategy": "horovod"}}, r"trainer\.strategy: Input should be 'auto', 'ddp'"),
        ({"train": {"eval_stride_s": 5.0}}, r"eval_stride_s \(5\.0\) exceeds eval_window_s"),
        (
            {"trainer": {"accelerator": "cpu", "precision": "16-mixed"}},
            r"precision=16-mixed needs a GPU",
        ),
        ({"model": {"name": "cnn1d", "options": {}}}, r"model\.options\.widths: Field required"),
        (
            {"model": {"name": "cnn1d", "options": {"widths": [], "kernel_size": 7, "dropout": 0}}},
            r"model\.options\.widths: List should have at least 1 item",
        ),
        (
            {
                "model": conf("model", "spectro2d"),
                "preprocess": {"spectrogram": {"enabled": False}},
            },
            r"model=spectro2d reads spectrograms; set preprocess\.spectrogram\.enabled=true",
        ),
        ({"model": conf("model", "beat_cnn")}, r"model=beat_cnn classifies heartbeats"),
        ({"split": {"val_folds": [10]}}, r"fold\(s\) \[10\] are in both val_folds and test_folds"),
        ({"split": {"test_folds": [11]}}, r"synthetic has folds 1 to 10, not \[11\]"),
        ({"split": {"val_folds": []}}, r"strategy=folds needs val_folds"),
        ({"mlflow": {"tracking_uri": "sqlite://"}}, r"mlflow\.tracking_uri: 'sqlite://' is not"),
        ({"mlflow": {"experiment": ""}}, r"mlflow\.experiment: String should have at least 1"),
    ],
)
def test_values_only_lightning_a_model_or_mlflow_would_catch_are_refused(sections, message):
    with pytest.raises(ConfigError, match=message):
        raw = params()
        for name, values in sections.items():
            if name == "preprocess":
                raw[name] = {
                    **raw[name],
                    "spectrogram": {**raw[name]["spectrogram"], **values["spectrogram"]},
                }
            else:
                raw[name] = values if name == "model" else {**raw[name], **values}
        parse_config(raw)


def test_tracking_stores_mlflow_reads_are_accepted():
    for uri in ("sqlite:///mlflow.db", "postgresql+psycopg2://u@h/db", "http://127.0.0.1:5000"):
        assert parse_config(params(mlflow={"tracking_uri": uri})).mlflow.tracking_uri == uri


def test_spectrogram_windows_fit_the_records_and_the_crops():
    spec = params()["preprocess"]["spectrogram"]
    with pytest.raises(ConfigError, match=r"longer than the shortest record \(9 s\)"):
        preprocess = {"fs": 100, "spectrogram": spec | {"window": 1000, "f_max": 45.0}}
        cinc = conf("data", "cinc2017")
        parse_config(params(data=cinc, split={"strategy": "stratified"}, preprocess=preprocess))
    with pytest.raises(
        ConfigError, match=r"window \(3 s\) is longer than train\.crop_s \(2\.5 s\)"
    ):
        raw = params(preprocess={"spectrogram": spec | {"window": 300}})
        parse_config(raw | {"model": conf("model", "hybrid")})


def test_dataset_specific_keys_are_named_without_the_union_tag():
    with pytest.raises(ConfigError, match=r"data\.classes\.0: Input should be 'N', 'A'"):
        parse_config(params(data=conf("data", "cinc2017", classes=["X"])))
    own = conf("data", "wfdb_folder", root="/o")
    with pytest.raises(ConfigError, match=r"max_duration_s \(5\.0\) is below min_duration_s"):
        parse_config(params(data=own | {"min_duration_s": 9, "max_duration_s": 5}))
    with pytest.raises(ConfigError, match="leads must be a non-empty list without repeats"):
        parse_config(params(data=own | {"leads": []}))
    with pytest.raises(ConfigError, match=r"data\.n_records: unknown key for data=ptbxl; it is a"):
        parse_config(params(data=conf("data", "ptbxl", n_records=5)))


def test_record_lists_are_text_and_may_not_repeat_a_record():
    mit = conf("data", "mitdb")
    beat = {"model": conf("model", "beat_cnn")}
    lists = {"train": [101, "106"], "val": [], "test": [100]}
    cfg = parse_config(params(data=mit, split={"strategy": "records", "records": lists}) | beat)
    assert cfg.split.records == {"train": ["101", "106"], "val": [], "test": ["100"]}
    assert cfg.data.label_kind == "multiclass" and cfg.loss == "ce"
    with pytest.raises(ConfigError, match=r"record 101 is in records\.train and test"):
        twice = lists | {"test": [101]}
        parse_config(params(data=mit, split={"strategy": "records", "records": twice}) | beat)
    with pytest.raises(ConfigError, match=r"strategy=records needs records\.train"):
        parse_config(params(data=mit, split={"strategy": "records"}) | beat)
    with pytest.raises(ConfigError, match=r"split\.strategy=folds needs the dataset's own folds"):
        parse_config(params(data=mit) | beat)


def test_rhythm_features_beside_the_network_need_single_label_records():
    with pytest.raises(ConfigError, match=r"train\.rhythm .* single-label whole-record data"):
        parse_config(params(train={"rhythm": {**params()["train"]["rhythm"], "weight": 0.3}}))


def test_an_external_set_needs_a_usable_name_and_whole_records():
    data = params()["data"]
    for name, entry, match in (
        ("a b", {"data": data, "label_map": None}, r"\['a b'\] are not usable names"),
        ("x", {"data": data, "label_map": {"NORM": []}}, r"\['NORM'\] map onto no label"),
    ):
        evaluate = {**params()["evaluate"], "external": {name: entry}}
        with pytest.raises(ConfigError, match=match):
            parse_config(params(evaluate=evaluate))


def test_an_empty_lead_list_is_refused_null_keeps_all_leads():
    with pytest.raises(ConfigError, match=r"preprocess\.leads: .*null means all leads"):
        parse_config(params(preprocess={"leads": []}))
    assert parse_config(params(preprocess={"leads": None})).preprocess.leads is None


def test_stretches_of_records_are_for_the_classical_beat_models():
    mitdb = conf("data", "mitdb", root="/m")
    beats = {**params()["preprocess"], "spectrogram": {"enabled": False, **{
        k: v for k, v in params()["preprocess"]["spectrogram"].items() if k != "enabled"
    }}}  # fmt: skip
    on = {"segments": {"random": 1, "dense": ["S"]}}
    gbm = {"name": "beat_gbm", "options": conf("model", "beat_gbm")["options"]}
    split = {"strategy": "stratified"}
    parse_config(params(data=mitdb, preprocess=beats, model=gbm, train=on, split=split))
    cnn = conf("model", "beat_cnn")
    with pytest.raises(ConfigError, match=r"train\.segments .* set train\.segments\.random=0"):
        parse_config(params(data=mitdb, preprocess=beats, model=cnn, train=on, split=split))
    with pytest.raises(ConfigError, match=r"train\.segments .* model=cnn1d reads whole records"):
        parse_config(params(train=on))
    odd = {"segments": {"random": 0, "dense": ["X"]}}
    with pytest.raises(ConfigError, match=r"train\.segments\.dense: \['X'\] not among data"):
        parse_config(params(data=mitdb, preprocess=beats, model=gbm, train=odd, split=split))


def test_adapting_to_a_record_needs_beats_a_normal_class_and_a_reference():
    mitdb = conf("data", "mitdb", root="/m")
    p = params()["preprocess"]
    beats = {**p, "spectrogram": {**p["spectrogram"], "enabled": False}}
    gbm = {"name": "beat_gbm", "options": conf("model", "beat_gbm")["options"]}
    split, on = {"strategy": "stratified"}, {**params()["evaluate"], "adapt": True}
    beat = {"data": mitdb, "model": gbm, "split": split, "evaluate": on}
    assert parse_config(params(preprocess=beats, **beat)).evaluate.adapt
    with pytest.raises(ConfigError, match=r"evaluate\.adapt .* is for heartbeat data; data=synth"):
        parse_config(params(evaluate=on))
    shapes = {**beats, "beats": {**beats["beats"], "features": "wavelet+hos"}}
    with pytest.raises(ConfigError, match=r"features=wavelet\+hos has no reference .* robust"):
        parse_config(params(preprocess=shapes, **beat))
    no_n = {**beat, "data": {**mitdb, "classes": ["S", "V"]}}
    with pytest.raises(ConfigError, match=r"references from class N: keep N in data\.classes"):
        parse_config(params(preprocess=beats, **no_n))


def test_an_external_set_gives_what_the_model_scores_beats_or_records():
    mitdb = conf("data", "mitdb", root="/m")
    evaluate = {**params()["evaluate"], "external": {"mit": {"data": mitdb, "label_map": None}}}
    with pytest.raises(ConfigError, match=r"external\.mit: data=mitdb gives heartbeats, and the"):
        parse_config(params(evaluate=evaluate))
