"""``ecgpipe server``: a tracking server a team shares, ``mlflow server`` over a real PostgreSQL.

PostgreSQL runs from Debian's ``postgresql`` binaries in a data folder this command owns
(``<data>/postgres``, created with ``initdb`` on first use and reused after), listening on
127.0.0.1 only; the MLflow server stores runs in its database ``mlflow`` and proxies artifacts
into ``<data>/artifacts`` (``--artifacts-destination``), so clients need no access to the files.
Both stop cleanly on Ctrl-C or SIGTERM. As root, PostgreSQL (which refuses root) runs as the
``postgres`` system user.

To use an existing PostgreSQL and object store instead, run ``mlflow server`` yourself with
``--backend-store-uri postgresql://USER:PASS@HOST/DB --artifacts-destination s3://BUCKET/PATH``.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecgpipe.core.errors import PipelineError

DATABASE = "mlflow"
PG_USER = "postgres"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 5000
    pg_port: int = 5433
    data: Path = Path(".tracking")
    workers: int = 2

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def backend_uri(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.pg_port}/{DATABASE}"


def _pg_bin(name: str) -> str:
    """A PostgreSQL server program: Debian's (``/usr/lib/postgresql/<version>/bin``) or on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        raise PipelineError(
            f"the PostgreSQL server ({name}) is not installed: `apt-get install postgresql`"
        )
    return str(found[-1])


def _as_pg_user() -> list[str]:
    """The prefix that runs a PostgreSQL program as a user it accepts (not root)."""
    return ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []


def _run(argv: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PipelineError(f"{what} failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def _prepare_data(server: Server) -> Path:
    """The PostgreSQL data folder, initialised on first use; owned by the user that runs it."""
    pgdata = (server.data / "postgres").resolve()
    (server.data / "logs").mkdir(parents=True, exist_ok=True)
    (server.data / "artifacts").mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam(PG_USER)
        pgdata.mkdir(parents=True, exist_ok=True)
        os.chown(pgdata, user.pw_uid, user.pw_gid)
        os.chown(server.data / "logs", user.pw_uid, user.pw_gid)
        probe = subprocess.run([*_as_pg_user(), "test", "-w", str(pgdata)], capture_output=True)
        if probe.returncode != 0:
            raise PipelineError(
                f"{pgdata}: the {PG_USER} user cannot reach this folder (a parent is not "
                "searchable by others); give --data a folder it can reach"
            )
    if not (pgdata / "PG_VERSION").is_file():
        pgdata.mkdir(parents=True, exist_ok=True)
        _run(
            [*_as_pg_user(), _pg_bin("initdb"), "-D", str(pgdata), "-U", PG_USER,
             "--auth=trust", "--encoding=UTF8", "--locale=C"],
            f"initdb {pgdata}",
        )  # fmt: skip
        print(f"server: created a PostgreSQL cluster in {pgdata}")
    return pgdata


@contextmanager
def _postgres(server: Server) -> Iterator[None]:
    """PostgreSQL running on 127.0.0.1:``pg_port`` with the database ``mlflow``, for the block."""
    pgdata = _prepare_data(server)
    log = (server.data / "logs" / "postgres.log").resolve()
    options = f"-p {server.pg_port} -k {pgdata} -c listen_addresses=127.0.0.1"
    ctl = [*_as_pg_user(), _pg_bin("pg_ctl"), "-D", str(pgdata)]
    _run([*ctl, "-w", "-l", str(log), "-o", options, "start"], f"starting PostgreSQL (see {log})")
    try:
        psql = [*_as_pg_user(), _pg_bin("psql"), "-h", "127.0.0.1", "-p", str(server.pg_port),
                "-U", PG_USER, "-tAc"]  # fmt: skip
        exists = _run([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"], "psql")
        if exists.stdout.strip() != "1":
            _run([*psql, f"CREATE DATABASE {DATABASE}"], f"creating the database {DATABASE}")
        yield
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True)


@contextmanager
def asked_to_stop() -> Iterator[Callable[[], bool]]:
    """For the block, Ctrl-C and SIGTERM only ask to stop: the function yielded says whether
    either came (a server then stops whatever it started, in order)."""
    asked: list[int] = []
    previous = {s: signal.signal(s, lambda n, _: asked.append(n)) for s in STOP_SIGNALS}
    try:
        yield lambda: bool(asked)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _wait_until_up(
    proc: subprocess.Popen, url: str, log: Path, asked: Callable[[], bool], timeout_s: float = 120
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not asked():
        if proc.poll() is not None:
            raise PipelineError(f"mlflow server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    if not asked():
        raise PipelineError(
            f"mlflow server did not answer on {url} in {timeout_s:.0f} s; see {log}"
        )


def run_mlflow_server(
    args: list[str],
    url: str,
    log: Path,
    asked: Callable[[], bool],
    on_up: Callable[[], None],
    cwd: Path | None = None,
) -> int:
    """``mlflow server ARGS`` in a process group of its own, its output into ``log``; once it
    answers on ``url``, ``on_up()``; then until ``asked()`` (:func:`asked_to_stop`) or its
    exit. Its whole group is stopped after; 0 where it was asked to stop."""
    mlflow = Path(sys.executable).parent / "mlflow"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(mlflow), "server", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    try:
        _wait_until_up(proc, url, log, asked)
        if not asked():
            on_up()
        while not asked() and proc.poll() is None:
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return 0 if asked() or proc.returncode in (0, -signal.SIGTERM) else 1


def serve(server: Server) -> int:
    """Start PostgreSQL and ``mlflow server``; block until Ctrl-C or SIGTERM, then stop both."""
    if importlib.util.find_spec("psycopg") is None:  # the runtime alone lacks it
        raise PipelineError(
            "PostgreSQL's Python driver (psycopg) is not installed: it comes with the "
            "development set (`make tracking-server`) or `pip install 'ecgpipe[server]'`"
        )
    with asked_to_stop() as asked, _postgres(server):
        log = (server.data / "logs" / "mlflow-server.log").resolve()
        artifacts = (server.data / "artifacts").resolve().as_uri()
        args = ["--host", server.host, "--port", str(server.port), "--workers",
                str(server.workers), "--backend-store-uri", server.backend_uri,
                "--artifacts-destination", artifacts]  # fmt: skip
        up = (f"server: MLflow on {server.uri}, runs in PostgreSQL "
                    f"(127.0.0.1:{server.pg_port}/{DATABASE}), artifacts in "
                    f"{(server.data / 'artifacts').resolve()}; logs in {log.parent}\n"
                    f"export MLFLOW_TRACKING_URI={server.uri}")  # fmt: skip
        code = run_mlflow_server(args, server.uri, log, asked, lambda: print(up, flush=True))
    print("server: stopped", flush=True)
    return code
