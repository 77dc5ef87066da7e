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
    _settle(build, default=0.0)
    watch = commands.add_parser("watch", help="keep the feeds current: a daemon")
    _verbosity(watch)
    _folders(watch)
    _schedule(watch)
    _settle(watch, default=2.0)
    status = commands.add_parser("status", help="what the state index says; read-only")
    _verbosity(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    check = commands.add_parser("check", help="read every seed and report problems; write nothing")
    _verbosity(check)
    check.add_argument("--seeds", type=Path, help="the seeds folder (default: seeds_dir)")
    serve = commands.add_parser("serve", help="serve feeds/ over HTTP, for a preview")
    _verbosity(serve)
    _folders(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--watch", action="store_true", help="run the daemon in the same process")
    _schedule(serve)
    _settle(serve, default=2.0)
    return parser


def _schedule(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--every", type=_positive_seconds, help="seconds between polls (default 30)")
    group.add_argument("--cron", metavar="EXPR", help='poll on a cron schedule, e.g. "*/5 * * * *"')


def _settle(parser: argparse.ArgumentParser, *, default: float) -> None:
    parser.add_argument(
        "--settle",
        type=_seconds,
        default=default,
        help="a seed modified less than this many seconds ago waits, unless it was closed after"
        f" writing (default {default:g})",
    )


def _verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    default = argparse.SUPPRESS
    group.add_argument("-v", "--verbose", action="store_true", default=default, help="say more")
    group.add_argument("-q", "--quiet", action="store_true", default=default, help="errors only")


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=Path, help="the seeds folder (default: seeds_dir)")
    parser.add_argument("--feeds", type=Path, help="the output folder (default: feeds_dir)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e9:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
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
    daemon = args.command in ("watch", "serve")  # long-running: times and levels in the log
    level = logging.INFO
    if getattr(args, "verbose", False):
        level = logging.DEBUG
    elif getattr(args, "quiet", False):
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    if daemon:  # a daemon's log wants times and levels
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("publisher: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    if args.command == "build":
        return _build(_config(args), settle=args.settle)
    if args.command == "watch":
        return _watch(args)
    if args.command == "status":
        return _status(_config(args, create=False), as_json=args.json)
    if args.command == "check":
        return _check(_config(args, create=False))
    if args.command == "serve":
        return _serve(args)
    raise AssertionError(args.command)


def _config(args: argparse.Namespace, *, create: bool = True) -> Config:
    path = _settings_file(args)
    if args.config is None and not path.exists() and create:
        create_config(path)
    config = load_config(
        path,
        seeds_dir=getattr(args, "seeds", None),
        feeds_dir=getattr(args, "feeds", None),
        mint=create,  # check and status write nothing, publisher.toml included
    )
    if not config.seeds_dir.is_dir():
        what = "does not exist" if not config.seeds_dir.exists() else "is not a folder"
        raise ConfigError(f"{config.seeds_dir}: the seeds folder {what}")
    return config


def _settings_file(args: argparse.Namespace) -> Path:
    """The publisher.toml the commands read: --config, or the one in the current folder."""
    path: Path | None = args.config
    return Path(CONFIG_NAME) if path is None else path


def _build(config: Config, *, settle: float) -> int:
    from feedpub.build import STATE_FILE, build_once, now
    from feedpub.output import site_lock
    from feedpub.progress import Progress
    from feedpub.snapshot import keep_snapshot, load_snapshot

    progress = Progress(sys.stderr, terminal=sys.stderr.isatty())
    # The last build's stats: this build polls against them instead of reading the index. A first
    # build takes none (its index is new: the next build takes them, at less memory than now).
    first = not (config.state_dir / STATE_FILE).exists()
    snapshot = None if first else load_snapshot(config.state_dir)
    kept = snapshot.generation if snapshot else None
    report = build_once(config, now=now(), settle=settle, progress=progress, snapshot=snapshot)
    fresh = report.snapshot is not snapshot  # not trusted, so read from the index and a scan
    new_stats = report.snapshot is not None and (fresh or report.snapshot.generation != kept)
    with site_lock(config.state_dir):
        keep_snapshot(config.state_dir, report.snapshot if new_stats else None)
    for warning in report.warnings:
        log.warning("%s", warning)
    for error in report.errors:
        log.error("%s", error)
    log.info("%s", report.summary())
    changed = report.changed_feeds(config)
    if config.websub_hub and changed:
        from feedpub.websub import HubNotifier

        notifier = HubNotifier(config.websub_hub)
        notifier.notify(changed)
        notifier.close(timeout=5.0)  # a slow hub delays the exit by this much at most
    return EXIT_SKIPPED if report.errors else EXIT_OK


def _watch(args: argparse.Namespace) -> int:
    _config(args)  # a bad config at start is an error; later, on SIGHUP, the old one is kept
    return _run_watch(args)


def _run_watch(args: argparse.Namespace) -> int:
    """The daemon, for watch and serve --watch: it reads the settings again when they change."""
    from feedpub.watch import run_watch

    return run_watch(
        lambda: _config(args, create=False),  # a reload never writes publisher.toml
        every=args.every,
        cron=args.cron,
        settle=args.settle,
        settings_file=_settings_file(args),
    )


def _status(config: Config, *, as_json: bool) -> int:
    import json

    from feedpub.build import now
    from feedpub.status import format_status, site_status

    status = site_status(config, now=now())
    print(json.dumps(status, indent=2, ensure_ascii=False) if as_json else format_status(status))
    return EXIT_OK


def _check(config: Config) -> int:
    from feedpub.build import check_seeds

    problems = check_seeds(config)
    for problem in problems:
        print(problem)
    return EXIT_SKIPPED if problems else EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from feedpub.serve import run_serve, start_server

    config = _config(args)
    if not args.watch:
        return run_serve(config.feeds_dir, host=args.host, port=args.port)
    server = start_server(config.feeds_dir, host=args.host, port=args.port)
    try:
        return _run_watch(args)
    finally:
        server.shutdown()
        server.server_close()
