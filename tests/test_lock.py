"""requirements.lock against pyproject.toml and the installed environment: every requirement
(extras included) is pinned at a version it allows, and what is installed is what is pinned."""

import tomllib
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import PROJECT


def pins() -> dict[str, Version]:
    out = {}
    for line in (PROJECT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].split(";")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.lock: {line!r} is not an exact pin"
            out[canonicalize_name(name)] = Version(pinned)
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    return [Requirement(r) for r in project["dependencies"] + [r for e in extras for r in e]]


def test_every_requirement_is_pinned_at_a_version_it_allows():
    locked = pins()
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={locked[name]}, outside {req}: run `make lock`"
        )


def test_torch_is_the_cpu_build_and_nothing_of_cuda_is_locked():
    locked = pins()
    assert locked["torch"].local == "cpu"
    assert not [n for n in locked if n.startswith("nvidia-") or n == "triton"]


def test_the_environment_is_installed_from_the_lock():
    wrong = {}
    for name, pinned in pins().items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            wrong[name] = "missing"
            continue
        if installed != pinned:
            wrong[name] = str(installed)
    assert not wrong, f"not as requirements.lock pins (run `make setup`): {wrong}"
