"""curvine-fluid: the Fluid ThinRuntime FUSE-pod entrypoint for Curvine.

Reads Fluid's config.json, writes curvine-cluster.toml, checks the cluster
and this machine, then execs the FUSE client.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from fluid import config, launch, toml
from fluid import options as opts
from fluid.checks import PIPE_MAX_SIZE, PIPE_MAX_SIZE_ENV, Checks
from fluid.errors import (
    EXIT_INTERNAL,
    EXIT_OK,
    CheckFailed,
    ConfigError,
    FluidError,
    UsageError,
    clip,
)
from fluid.report import Report
from fluid.secrets import DEFAULT_SECRETS_DIR, Redactor

log = logging.getLogger("fluid")

DEFAULT_CURVINE_HOME = Path("/opt/curvine")
LOG_LEVEL_ENV = "CURVINE_FLUID_LOG_LEVEL"


def _seconds(name: str) -> Callable[[str], str]:
    """An argparse type that checks a number of seconds as the option would."""

    def check(text: str) -> str:
        try:
            opts.coerce(f"--{name}", text, opts.GENERAL[name])
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
        return text

    return check


def _nonempty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; give a path")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curvine-fluid",
        description=(
            "Mount a Curvine path in a Fluid ThinRuntime FUSE pod: read config.json, "
            "write curvine-cluster.toml, check the cluster, exec the FUSE client."
        ),
        epilog="Exit status: 0 ok, 1 internal error, 2 usage, 3 config error, "
        "4 failed check, 5 launch failure. See fluid/README.md.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=_nonempty,
        help="Fluid's config.json (default: $FLUID_RUNTIME_CONFIG_PATH, else "
        "/etc/fluid/config/config.json, else /etc/fluid/config.json)",
    )
    parser.add_argument(
        "--curvine-home",
        metavar="DIR",
        type=_nonempty,
        help="where conf/ and lib/ live (default: $CURVINE_HOME, else /opt/curvine)",
    )
    parser.add_argument(
        "--fuse-bin",
        metavar="FILE",
        type=_nonempty,
        help="the FUSE client to exec (default: <curvine home>/lib/curvine-fuse)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="do everything but the exec, and print the command",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        type=_nonempty,
        help="also write the report as JSON to FILE",
    )
    parser.add_argument(
        "--check-timeout",
        metavar="SECONDS",
        type=_seconds("check-timeout"),
        help="bound on each network check (default: option check-timeout, else 10)",
    )
    parser.add_argument(
        "--parent-wait",
        metavar="SECONDS",
        type=_seconds("parent-wait"),
        help="how long to wait for the target's parent (default: option "
        "parent-wait, else 30)",
    )
    parser.add_argument(
        "--secrets-dir",
        metavar="DIR",
        type=_nonempty,
        default=str(DEFAULT_SECRETS_DIR),
        help="where Fluid mounts encryptOptions secrets (default: %(default)s)",
    )
    return parser


class _Scrub(logging.Filter):
    """Masks secret values in every log record a handler writes."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor:
            record.msg = self.redactor.scrub(record.getMessage())
            record.args = None
            if record.exc_text:
                record.exc_text = self.redactor.scrub(record.exc_text)
        return True


def _scrub_logs(redactor: Redactor) -> None:
    """Mask secrets in curvine-fluid's log and in curvine_py's, wherever it goes.

    The filter sits on the handlers, since a logger's own filters do not see
    the records its children pass up.
    """
    handlers: list[logging.Handler] = [
        *logging.getLogger().handlers,
        *logging.getLogger("curvine_py").handlers,
        *log.handlers,
    ]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        mine = [f for f in handler.filters if isinstance(f, _Scrub)]
        if mine:
            mine[0].redactor = redactor
        else:
            handler.addFilter(_Scrub(redactor))


def _setup_logging() -> None:
    if log.handlers:
        return
    level_name = os.environ.get(LOG_LEVEL_ENV, "WARNING").upper()
    level = getattr(logging, level_name, logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(level if isinstance(level, int) else logging.WARNING)


def _curvine_home(args: argparse.Namespace) -> Path:
    if args.curvine_home:
        return Path(args.curvine_home)
    if os.environ.get("CURVINE_HOME"):
        return Path(os.environ["CURVINE_HOME"])
    return DEFAULT_CURVINE_HOME


def _check_report_path(report: Path, config_path: Path, home: Path) -> None:
    """Refuse a --report that would overwrite a file curvine-fluid reads or writes."""
    taken = {
        "the config file": config_path,
        "the TOML": toml.conf_path(home),
        "mount-curvine.sh": home / launch.SCRIPT_NAME,
    }
    mine = os.path.realpath(report)
    for what, other in taken.items():
        if mine == os.path.realpath(other):
            raise UsageError(
                f"--report {report} is {what}; give the report a file of its own"
            )


def _run(args: argparse.Namespace, report: Report) -> int:
    path = config.find_config(args.config, os.environ)
    report.facts["config"] = str(path)
    overrides = {
        name: value
        for name, value in (
            ("check-timeout", args.check_timeout),
            ("parent-wait", args.parent_wait),
        )
        if value is not None
    }
    settings = config.load(
        path,
        os.environ,
        overrides=overrides,
        secrets_dir=Path(args.secrets_dir),
        redactor=report.redactor,
    )
    report.facts["mount"] = {
        "name": settings.mount_name,
        "mount_point": settings.mount_point,
        "fs_path": settings.fs_path,
        "target": settings.target_path,
        "read_only": settings.read_only,
        "masters": settings.shown_endpoints(),
    }

    home = _curvine_home(args)
    if args.report:
        _check_report_path(Path(args.report), path, home)
    fuse_bin = Path(args.fuse_bin) if args.fuse_bin else launch.default_fuse_bin(home)
    # mount-curvine.sh would look a bare name up in $PATH; exec would not.
    fuse_bin = Path(os.path.abspath(fuse_bin))
    masters = ", ".join(settings.shown_endpoints())
    report.say(
        f"curvine-fluid: {settings.mount_point} -> {settings.target_path} "
        f"(Curvine path {settings.fs_path}; masters {masters})"
    )
    for text in settings.notes:
        report.note(text)

    checks = Checks(
        settings,
        fuse_bin,
        report.check,
        dry_run=args.dry_run,
        pipe_max_size=Path(os.environ.get(PIPE_MAX_SIZE_ENV) or PIPE_MAX_SIZE),
    )
    settings = checks.prepare()
    report.facts["splice"] = checks.splice

    conf = toml.write(settings, home)
    report.facts["toml"] = str(conf)
    report.say(
        f"wrote {conf}"
        + (" (mode 0600: it holds secrets)" if settings.has_secrets else "")
    )
    argv = launch.command(settings, fuse_bin, conf)
    script = launch.write_script(argv, home, conf)
    report.facts["command"] = argv
    report.facts["mount_script"] = str(script)

    checks.run()
    failed = report.failed
    if failed:
        names = ", ".join(c.name for c in failed)
        raise CheckFailed(
            f"{len(failed)} check(s) failed: {names}; nothing was mounted"
        )

    command_line = shlex.join(argv)
    if args.dry_run:
        report.say(f"dry run: would exec {command_line}")
        return EXIT_OK
    report.say(f"exec {command_line}")
    if args.report:
        # The report is for people; failing to write it must not stop a mount
        # that passed every check.
        try:
            report.write_json(Path(args.report), EXIT_OK, None)
        except FluidError as exc:
            print(f"curvine-fluid: warning: {exc}; mounting anyway", file=sys.stderr)
    launch.execute(argv, launch.child_env(home, conf))
    return EXIT_OK


def _standard_streams() -> None:
    """Give a closed stdin, stdout or stderr /dev/null, and write what cannot be
    encoded as escapes.

    Otherwise the next file opened (the FUSE client's /dev/fuse, say) would
    take the closed descriptor and receive what is printed.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115
        elif hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run curvine-fluid; return the exit status (it does not return on exec)."""
    _standard_streams()
    args = _parser().parse_args(argv)
    _setup_logging()
    report = Report(sys.stdout)
    # curvine_py sets up its log handler when it is imported: import it now so
    # that handler gets the filter too.
    try:
        import curvine_py  # noqa: F401
    except (ImportError, OSError):
        pass  # the leader check reports it
    _scrub_logs(report.redactor)
    code, error = EXIT_OK, None
    write_report = True
    try:
        code = _run(args, report)
    except FluidError as exc:
        code, error = exc.exit_code, clip(report.redactor.scrub(str(exc)))
        print(f"curvine-fluid: {error}", file=sys.stderr)
        # A usage error may be the report path itself: write nothing there.
        write_report = not isinstance(exc, UsageError)
    except KeyboardInterrupt:
        code, error = EXIT_INTERNAL, "interrupted"
        print("curvine-fluid: interrupted", file=sys.stderr)
    # A bug: say so in one line; the traceback is there on request.
    except Exception as exc:  # noqa: BLE001
        code = EXIT_INTERNAL
        error = report.redactor.scrub(f"internal error: {type(exc).__name__}: {exc}")
        print(
            f"curvine-fluid: {error} (set {LOG_LEVEL_ENV}=DEBUG for details)",
            file=sys.stderr,
        )
        log.debug("%s", report.redactor.scrub(traceback.format_exc()))
    if args.report and write_report:
        try:
            report.write_json(Path(args.report), code, error)
        except FluidError as exc:
            print(f"curvine-fluid: {exc}", file=sys.stderr)
            code = code or exc.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
