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
        for section in ("validate", "preprocess", "split", "train", "trainer", "evaluate", "mlflow")
    }
    cfg = parse_config(raw | {"data": conf("data", "ptbxl"), "model": conf("model", "cnn1d")})
    readers.read(cfg.data, Paths(tmp_path), tmp_path / "out")
    assert seen == [("ptbxl", tmp_path / "out")]


def test_an_external_set_is_prepared_in_its_own_folder(tmp_path: Path) -> None:
    """``prepare_external`` writes the set's manifest and description under
    ``data/external/NAME`` (a generated set generated there) and reads the manifest back."""
    data = parse_config(
        {
            s: conf(s)
            for s in ("validate", "preprocess", "split", "train", "trainer", "evaluate", "mlflow")
        }
        | {"data": conf("data", "synthetic", n_records=12), "model": conf("model", "cnn1d")}
    ).data
    paths = Paths(tmp_path)
    df, root = readers.prepare_external(data, paths, "site2")
    folder = tmp_path / "data" / "external" / "site2"
    assert (folder / "manifest.csv").is_file() and (folder / "dataset.json").is_file()
    assert len(df) == 12 and root.is_relative_to(folder)
    assert all((root / p).with_suffix(".hea").is_file() for p in df["path"])
