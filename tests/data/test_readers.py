"""The registry of dataset readers: one per ``data=`` option, picked by ``data.name``."""

from pathlib import Path

from ecgpipe.config.parse import DATA_NAMES, parse_config
from ecgpipe.core.paths import Paths
from ecgpipe.data import readers
from tests.conftest import PROJECT, conf


def test_every_data_option_has_a_reader() -> None:
    options = {p.stem for p in (PROJECT / "conf" / "data").glob("*.yaml")}
    assert set(readers.READERS) == options == set(DATA_NAMES)


def test_prepare_reads_through_the_registry(tmp_path: Path, monkeypatch) -> None:
    """``readers.read`` calls the reader registered under the configuration's name."""
    seen = []
    monkeypatch.setitem(
        readers.READERS, "ptbxl", lambda data, paths, out: seen.append((data.name, out))
    )
    raw = {
        section: conf(section)
        for section in ("validate", "preprocess", "split", "train", "evaluate", "mlflow")
    }
    cfg = parse_config(raw | {"data": conf("data", "ptbxl"), "model": conf("model", "cnn1d")})
    readers.read(cfg.data, Paths(tmp_path), tmp_path / "out")
    assert seen == [("ptbxl", tmp_path / "out")]
