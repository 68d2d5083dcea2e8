from pathlib import Path

import pytest

from ecgpipe.config import Config, ConfigError, PtbxlDataConfig, load_params, parse_config


def test_defaults_parse_to_a_frozen_config():
    cfg = parse_config({})
    assert cfg.data.name == "synthetic"
    assert cfg.validate_.policy == "exclude"
    with pytest.raises(ValueError):
        cfg.data = None  # frozen


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"data\.n_recordz: unknown key"):
        parse_config({"data": {"name": "synthetic", "n_recordz": 5}})
    with pytest.raises(ConfigError, match=r"bogus: unknown key"):
        parse_config({"bogus": 1})


def test_bad_value_is_named():
    with pytest.raises(ConfigError, match=r"validate\.policy"):
        parse_config({"validate": {"policy": "ignore"}})
    with pytest.raises(ConfigError, match=r"data\.sampling_rate"):
        parse_config({"data": {"name": "synthetic", "sampling_rate": 250}})
    with pytest.raises(ConfigError, match=r"data\.n_records"):
        parse_config({"data": {"name": "synthetic", "n_records": 0}})


def test_data_group_is_chosen_by_name():
    cfg = parse_config({"data": {"name": "ptbxl", "root": "/x", "source": "/x"}})
    assert isinstance(cfg.data, PtbxlDataConfig)
    with pytest.raises(ConfigError, match=r"data: .*'synthetic', 'ptbxl'"):
        parse_config({"data": {"name": "mimic"}})


def test_ptbxl_source_must_be_its_root():
    with pytest.raises(ConfigError, match=r"must equal data\.root"):
        parse_config({"data": {"name": "ptbxl", "root": "/x", "source": "/y"}})


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
    path.write_text("split:\n  seed: 7\nvalidate:\n  max_excluded_fraction: 0.5\n")
    cfg = load_params(path)
    assert isinstance(cfg, Config)
    assert (cfg.split.seed, cfg.validate_.max_excluded_fraction) == (7, 0.5)


def test_data_kinds_know_their_labels_and_folds():
    cinc = parse_config(
        {
            "data": {"name": "cinc2017", "root": "/c", "source": "/c"},
            "split": {"strategy": "stratified"},
        }
    )
    assert cinc.data.label_kind == "multiclass" and (cinc.monitor, cinc.loss) == (
        "val/macro_f1",
        "ce",
    )
    own = parse_config(
        {"data": {"name": "wfdb_folder", "root": "/o", "source": "/o", "label_kind": "multilabel"}}
    )
    assert (own.monitor, own.loss) == ("val/macro_auroc", "bce")
    assert parse_config({}).data.label_kind == "multilabel"


def test_settings_that_do_not_fit_the_data_are_refused_up_front():
    cinc = {"name": "cinc2017", "root": "/c", "source": "/c"}
    with pytest.raises(ConfigError, match=r"split\.strategy=folds needs the dataset's own folds"):
        parse_config({"data": cinc})
    stratified = {"strategy": "stratified"}
    with pytest.raises(ConfigError, match=r"train\.loss=bce is for multilabel data; cinc2017 is"):
        parse_config({"data": cinc, "split": stratified, "train": {"loss": "bce"}})
    with pytest.raises(ConfigError, match=r"train\.monitor=val/macro_f1 is for single-label data"):
        parse_config({"train": {"monitor": "val/macro_f1"}})
    with pytest.raises(ConfigError, match="val/cinc2017_f1 needs data=cinc2017"):
        own = {"name": "wfdb_folder", "root": "/o", "source": "/o"}
        parse_config({"data": own, "split": stratified, "train": {"monitor": "val/cinc2017_f1"}})


def test_dataset_specific_keys_are_named_without_the_union_tag():
    with pytest.raises(ConfigError, match=r"  data\.classes\.0: Input should be 'N', 'A'"):
        parse_config({"data": {"name": "cinc2017", "root": "/c", "source": "/c", "classes": ["X"]}})
    own = {"name": "wfdb_folder", "root": "/o", "source": "/o"}
    with pytest.raises(ConfigError, match=r"max_duration_s \(5\.0\) is below min_duration_s"):
        parse_config({"data": own | {"min_duration_s": 9, "max_duration_s": 5}})
    with pytest.raises(ConfigError, match="leads must be a non-empty list without repeats"):
        parse_config({"data": {"name": "wfdb_folder", "root": "/o", "source": "/o", "leads": []}})


def test_record_lists_are_text_and_may_not_repeat_a_record():
    mit = {"name": "mitdb", "root": "/m", "source": "/m"}
    lists = {"train": [101, "106"], "val": [], "test": [100]}
    cfg = parse_config({"data": mit, "split": {"strategy": "records", "records": lists}})
    assert cfg.split.records == {"train": ["101", "106"], "val": [], "test": ["100"]}
    assert cfg.data.label_kind == "multiclass" and cfg.loss == "ce"
    with pytest.raises(ConfigError, match=r"record 101 is in records\.train and test"):
        twice = lists | {"test": [101]}
        parse_config({"data": mit, "split": {"strategy": "records", "records": twice}})
    with pytest.raises(ConfigError, match=r"strategy=records needs records\.train"):
        parse_config({"data": mit, "split": {"strategy": "records"}})
    with pytest.raises(ConfigError, match=r"split\.strategy=folds needs the dataset's own folds"):
        parse_config({"data": mit})
