"""How the CLI reports an error: one line on stderr and a non-zero exit, never a traceback unless
`--debug` asks for it (the global option, set by the app's callback).

- PostgreSQL unreachable -> "error: cannot reach PostgreSQL at 127.0.0.1:1: connection refused", exit 1
- refused input (InvalidMessageError) -> "error: <reason>", exit 2
- anything else -> "error: <type>: <first line, at most 200 characters> (--debug shows the traceback)", exit 1
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

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


class ErrorReportingGroup(TyperGroup):
    """The top-level group: an exception a command did not handle becomes one line (see module doc)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):  # typer's own reporting
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            message, code = describe(exc)
            raise fail(message, code) from None
