"""The locks in requirements/ against pyproject.toml, each other and the installed environment:
every requirement of a set (the runtime; the development set, with the extras) is pinned at a
version it allows; the sets and PyTorch's two builds agree on every version but torch's build;
and what is installed is what its lock pins."""

import tomllib
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import PROJECT

SETS = ("runtime", "dev")
BUILDS = ("cpu", "cuda")
CUDA_ONLY = ("nvidia-", "cuda-", "triton")
"""What the cuda build of torch brings that the cpu build does not: names starting so."""


def pins(path) -> dict[str, Version]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].split(";")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"{path.name}: {line!r} is not an exact pin"
            out[canonicalize_name(name)] = Version(pinned)
    return out


def lock(kind: str, build: str) -> dict[str, Version]:
    return pins(PROJECT / f"requirements/{kind}-{build}.lock")


def declared() -> tuple[list[Requirement], list[Requirement]]:
    """pyproject.toml's dependencies (the runtime) and its extras' (the rest of the dev set)."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    extras = [r for e in project["optional-dependencies"].values() for r in e]
    return list(map(Requirement, project["dependencies"])), list(map(Requirement, extras))


def requirements(kind: str) -> list[Requirement]:
    runtime, extras = declared()
    return runtime + extras if kind == "dev" else runtime


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("kind", SETS)
def test_every_requirement_is_pinned_at_a_version_it_allows(kind, build):
    locked = lock(kind, build)
    for req in requirements(kind):
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in {kind}-{build}.lock: run `make lock`"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"{kind}-{build}.lock pins {req.name}=={locked[name]}, outside {req}: run `make lock`"
        )


@pytest.mark.parametrize("build", BUILDS)
def test_the_runtime_holds_none_of_the_extras(build):
    extras = {canonicalize_name(r.name) for r in declared()[1]}
    assert extras and not extras & set(lock("runtime", build))


@pytest.mark.parametrize("build", BUILDS)
def test_the_development_set_pins_the_runtime_as_the_runtime_lock_does(build):
    runtime, dev = lock("runtime", build), lock("dev", build)
    assert {n: dev.get(n) for n in runtime} == runtime


@pytest.mark.parametrize("kind", SETS)
def test_the_two_builds_differ_in_torch_and_its_cuda_packages_alone(kind):
    cpu, cuda = lock(kind, "cpu"), lock(kind, "cuda")
    for build, locked in (("cpu", cpu), ("cuda", cuda)):
        constraints = (PROJECT / f"constraints/{build}.txt").read_text().splitlines()
        assert f"torch=={locked['torch']}" in constraints
    assert cpu["torch"].local == "cpu" and cuda["torch"].local is None
    assert cpu["torch"].public == cuda["torch"].public
    assert not [n for n in cpu if n.startswith(CUDA_ONLY)]
    assert "triton" in cuda and all(n.startswith(CUDA_ONLY) for n in set(cuda) - set(cpu))
    assert {n: v for n, v in cuda.items() if n in cpu and n != "torch"} == {
        n: v for n, v in cpu.items() if n != "torch"
    }


def test_the_environment_is_installed_from_the_lock():
    build = "cpu" if Version(version("torch")).local == "cpu" else "cuda"
    wrong = {}
    for name, pinned in lock("dev", build).items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            wrong[name] = "missing"
            continue
        if installed != pinned:
            wrong[name] = str(installed)
    assert not wrong, f"not as dev-{build}.lock pins (run `make test TORCH={build}`): {wrong}"
