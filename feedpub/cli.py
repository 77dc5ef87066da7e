"""The command line: argument parsing, logging set-up, error to exit code. Nothing else."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from feedpub import __version__
from feedpub.config import CONFIG_NAME, Config, create_config, load_config
from feedpub.errors import ConfigError, PublisherError

log = logging.getLogger("feedpub")

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="publisher", description="Publish dated plain-text seeds as feeds.")
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    parser.add_argument(
        "--config", type=Path, help=f"the site's settings (default: ./{CONFIG_NAME})"
    )
    _verbosity(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="publish once and exit")
    _verbosity(build)
    _folders(build)
    build.add_argument(
        "--settle",
        type=_seconds,
        default=0.0,
        help="leave seeds modified less than this many seconds ago for the next run (default 0)",
    )
    return parser


def _verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    default = argparse.SUPPRESS
    group.add_argument("-v", "--verbose", action="store_true", default=default, help="say more")
    group.add_argument("-q", "--quiet", action="store_true", default=default, help="errors only")


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=Path, help="the seeds folder (default: seeds_dir)")
    parser.add_argument("--feeds", type=Path, help="the output folder (default: feeds_dir)")


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        _set_up_logging(args)
        return _run(args)
    except PublisherError as exc:
        print(f"publisher: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _set_up_logging(args: argparse.Namespace) -> None:
    level = logging.INFO
    if getattr(args, "verbose", False):
        level = logging.DEBUG
    elif getattr(args, "quiet", False):
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("publisher: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.command == "build":
        return _build(config, settle=args.settle)
    raise AssertionError(args.command)


def _config(args: argparse.Namespace) -> Config:
    path: Path | None = args.config
    if path is None:
        path = Path(CONFIG_NAME)
        if not path.exists():
            create_config(path)
    config = load_config(path, seeds_dir=args.seeds, feeds_dir=args.feeds)
    if not config.seeds_dir.is_dir():
        what = "does not exist" if not config.seeds_dir.exists() else "is not a folder"
        raise ConfigError(f"{config.seeds_dir}: the seeds folder {what}")
    return config


def _build(config: Config, *, settle: float) -> int:
    from feedpub.build import build_once, now

    report = build_once(config, now=now(), settle=settle)
    for warning in report.warnings:
        log.warning("%s", warning)
    for error in report.errors:
        log.error("%s", error)
    log.info("%s", report.summary())
    return EXIT_SKIPPED if report.errors else EXIT_OK
