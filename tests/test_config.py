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
