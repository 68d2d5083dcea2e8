"""The ``ecgpipe`` command: one subcommand per DVC stage, plus ``compose``.

Stages read ``params.yaml`` (never ``@hydra.main``: DVC's ``-S`` overrides compose into
``params.yaml``, which a Hydra app would ignore).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ecgpipe.config.parse import load_params
from ecgpipe.core.errors import PipelineError, os_error_line
from ecgpipe.core.paths import Paths
from ecgpipe.core.quiet import VERBOSE, quiet

log = logging.getLogger("ecgpipe")


def _stage(name: str):
    def run(args: argparse.Namespace) -> None:
        from importlib import import_module

        paths = Paths(Path(args.root))
        cfg = load_params(args.params or paths.params)
        import_module(f"ecgpipe.stages.{name}").run(cfg, paths)

    return run


def _compose(args: argparse.Namespace) -> None:
    from ecgpipe.config.compose import write_params

    paths = Paths(Path(args.root))
    out = Path(args.params) if args.params else paths.params
    write_params(paths.conf, out, args.overrides)
    log.info("compose: wrote %s", out)


def _mlflow(args: argparse.Namespace):
    """This project's MLflow settings: params.yaml's, else conf/'s defaults."""
    from ecgpipe.config.compose import compose_config

    paths = Paths(Path(args.root))
    params = Path(args.params) if args.params else paths.params
    if params.is_file():
        return load_params(params).mlflow
    if paths.conf.is_dir():
        return compose_config(paths.conf).mlflow
    raise PipelineError(
        f"{paths.root} is not an ecgpipe project (no params.yaml or conf/): run from the "
        "project's root, or name it with --root"
    )


def _model(args: argparse.Namespace):
    """The served model ``--model`` names, from this project's store."""
    from ecgpipe import tracking

    return tracking.load_record_model(args.model, _mlflow(args), Path(args.root))


def _external(args: argparse.Namespace) -> None:
    from ecgpipe.stages import external

    paths = Paths(Path(args.root))
    external.run(load_params(args.params or paths.params), paths, args.name)


def _predict(args: argparse.Namespace) -> int:
    from ecgpipe.serving import predict

    model, uri = _model(args)
    failed = predict.run(model, uri, [Path(p) for p in args.paths], args.out, args.adapt)
    if failed:
        log.error("ecgpipe predict: %d record%s could not be scored", failed, "s"[: failed > 1])
    return 1 if failed else 0


def _explain(args: argparse.Namespace) -> None:
    from ecgpipe.evaluation.plots import save_png
    from ecgpipe.serving import explain, predict

    model, uri = _model(args)
    record = Path(args.record)
    x = predict.read(model, record)
    fig, _, overlays = explain.figure(model, x, title=f"{record.name} ({uri})")
    out = args.out or Path(f"{record.name}.explained.png")
    save_png(fig, out)
    log.info("explain: %s: attribution of %s; wrote %s", record, ", ".join(overlays), out)


def _server(args: argparse.Namespace) -> int:
    from ecgpipe.tracking import server

    data = args.data if args.data.is_absolute() else Path(args.root) / args.data
    return server.serve(server.Server(args.host, args.port, args.pg_port, data, args.workers))


def _ui(args: argparse.Namespace) -> int:
    from ecgpipe.tracking import ui

    return ui.open_ui(_mlflow(args), Path(args.root), args.host, args.port, not args.no_browser)


STAGES = {
    "prepare": "produce a dataset and its manifest (data/prepared)",
    "validate": "check every record; report and exclude failures (reports/integrity.*)",
    "preprocess": "filter, resample and cache the kept records as memory-mapped arrays",
    "split": "patient-disjoint train/val/test indices (data/split, reports/split.json)",
    "train": "fit the model; thresholds tuned on validation; everything logged to MLflow",
    "evaluate": "test metrics with bootstrap intervals, plots and report, into the same run",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecgpipe", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=".", help="project root (default: current directory)")
    p.add_argument("--params", default=None, help="parameters file (default: ROOT/params.yaml)")
    p.add_argument(
        "--verbose",
        action="store_true",
        help=f"show third-party warnings and tips too (under DVC or a sweep: {VERBOSE}=1)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser("compose", help="compose conf/ (with Hydra overrides) into params.yaml")
    c.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=ptbxl")
    c.set_defaults(func=_compose)
    for name, text in STAGES.items():
        sub.add_parser(name, help=text).set_defaults(func=_stage(name))
    x = sub.add_parser(
        "external", help="score the trained model on an external set (evaluate.external.NAME)"
    )
    x.add_argument("name", metavar="NAME", help="a set named in evaluate.external")
    x.set_defaults(func=_external)
    r = sub.add_parser("predict", help="score WFDB records with a trained model (CSV or JSON)")
    r.add_argument("paths", nargs="+", metavar="PATH", help="WFDB records, or folders of them")
    r.add_argument(
        "--model",
        default="models/",
        metavar="REF",
        help="models/ (this project's trained model), runs:/ID/model or models:/NAME@ALIAS",
    )
    r.add_argument(
        "--out", type=Path, default=None, help="a .csv or .json file (default: CSV on stdout)"
    )
    r.add_argument(
        "--adapt",
        action="store_true",
        help="a beat model: read each record whole, learn its normal beats, then call every beat "
        "against them (transductive; see docs/serving.md#adapt)",
    )
    r.set_defaults(func=_predict)
    e = sub.add_parser("explain", help="a record's ECG with each predicted class's attribution")
    e.add_argument("record", metavar="RECORD", help="a WFDB record")
    e.add_argument("--model", default="models/", metavar="REF", help="as for predict")
    e.add_argument("--out", type=Path, default=None, help="PNG (default: RECORD.explained.png)")
    e.set_defaults(func=_explain)
    u = sub.add_parser(
        "ui", help="the MLflow UI on this project's runs table, in the view of key metrics"
    )
    u.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    u.add_argument("--port", type=int, default=5000, help="port (default: 5000; 0: a free one)")
    u.add_argument("--no-browser", action="store_true", help="print the address, open nothing")
    u.set_defaults(func=_ui)
    v = sub.add_parser("server", help="a team's tracking server: mlflow server over PostgreSQL")
    v.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    v.add_argument("--port", type=int, default=5000, help="MLflow's port (default: 5000)")
    v.add_argument("--pg-port", type=int, default=5433, help="PostgreSQL's port (default: 5433)")
    v.add_argument("--workers", type=int, default=2, help="MLflow server workers (default: 2)")
    v.add_argument(
        "--data",
        type=Path,
        default=Path(".tracking"),
        help="its database and artifacts (default: ROOT/.tracking; created on first use)",
    )
    v.set_defaults(func=_server)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parser().parse_args(argv)
    quiet(args.verbose)
    try:
        return int(args.func(args) or 0)
    except PipelineError as err:
        log.error("ecgpipe %s: error: %s", args.command, err)
        return 1
    except OSError as err:  # a user's: a read-only, full or missing folder, ...; else a bug
        line = os_error_line(err)
        if line is None:
            raise
        log.error("ecgpipe %s: error: %s", args.command, line)
        return 1


if __name__ == "__main__":
    sys.exit(main())
