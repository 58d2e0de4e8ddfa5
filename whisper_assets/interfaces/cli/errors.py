"""How the CLI reports an error: one line on stderr and a non-zero exit, never a traceback unless
`--debug` asks for it (the global option, set by the app's callback).

- PostgreSQL unreachable -> "error: cannot reach PostgreSQL at 127.0.0.1:1: connection refused", exit 1
- refused input (InvalidMessageError) -> "error: <reason>", exit 2
- anything else -> "error: <type>: <first line, at most 200 characters> (--debug shows the traceback)", exit 1
- typer's own refusals (a missing option, a file that does not exist, a value out of range, an
  unknown option or command) -> "error: <typer's message> (see 'whisper-assets <command> --help')",
  exit 2; with `--debug`, typer's usage box as typer prints it. Help (`--help`, a group without a
  command) is shown as usual.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

try:  # recent typer vendors click as typer._click; earlier ones (pyproject allows >= 0.12) use click
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as _click_exceptions  # type: ignore[no-redef]

UsageError = _click_exceptions.UsageError
# A group called without a command shows its help by raising this (click >= 8.2): left alone.
NoArgsIsHelpError: Any = getattr(_click_exceptions, "NoArgsIsHelpError", ())

err = Console(stderr=True)
_STATE = {"debug": False}


def debug_enabled() -> bool:
    return _STATE["debug"]


def set_debug(on: bool) -> None:
    _STATE["debug"] = on


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` (one line) on stderr; return the Exit to raise."""
    err.print(f"[red]error:[/red] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def describe(exc: BaseException) -> tuple[str, int]:
    """(the one-line message, the exit code) for an exception no command handled."""
    from whisper_assets.core.messages import InvalidMessageError
    from whisper_assets.core.settings import SettingsError

    try:
        from whisper_assets.stores.postgres import connection_failure

        unreachable = connection_failure(exc)
    except ImportError:  # pragma: no cover
        unreachable = None
    if unreachable:
        return unreachable, 1
    if isinstance(exc, (InvalidMessageError, SettingsError)):
        return str(exc), 2
    text = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {text} (run with --debug for the traceback)", 1


def _usage_line(exc: UsageError) -> typer.Exit:
    """typer's usage box for `exc`, as one `error:` line naming the command's --help."""
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return fail(exc.format_message().rstrip() + where, exc.exit_code)


class ErrorReportingGroup(TyperGroup):
    """The top-level group: an exception a command did not handle becomes one line (see module doc)."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        # The top level's own options (`whisper-assets --bogus`): parsed before --debug is known.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            if "--debug" in args:
                raise
            raise _usage_line(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:  # a group without a command: its help
            raise
        except UsageError as exc:  # a command's options and arguments, an unknown command
            if debug_enabled():
                raise
            raise _usage_line(exc) from None
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):  # typer's own reporting
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            message, code = describe(exc)
            raise fail(message, code) from None
