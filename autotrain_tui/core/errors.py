"""Errors a user can cause, each carrying the one line the CLI and the UI show.

Anything else that escapes the core is a bug and deserves its traceback; these do not.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")


class ManagerError(Exception):
    """A user-facing failure: `str(error)` is one complete, readable line."""


class UnknownRunError(ManagerError):
    """No run id starts with the given prefix."""


class AmbiguousRunError(ManagerError):
    """More than one run id starts with the given prefix."""


class RunIsLiveError(ManagerError):
    """The action needs a finished run, and this one is queued or running."""


class InvalidConfigError(ManagerError):
    """`recipe check` rejected the config; `messages` are its `FILE:LINE:COL: message` lines."""

    def __init__(self, config: str, messages: list[str]) -> None:
        self.config = config
        self.messages = messages
        first = messages[0] if messages else "invalid config"
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        super().__init__(f"{first}{more}")


class ProjectNotWritableError(ManagerError):
    """A file of the project could not be written: a read-only or full file system, or
    permissions. One line naming the file and what to do; the UI shows it once."""


def describe_os_error(error: OSError, near: object = None) -> str:
    """One line for a filesystem failure: the file, what happened, what to do. `near` names
    the place when the error does not (a failed write() carries no file name)."""
    where = error.filename or (f"a file in {near}" if near is not None else "a project file")
    if error.errno == errno.EROFS:
        return f"cannot write {where}: the file system is read-only (use a writable copy)"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied on {where} (fix its permissions or owner)"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {where}: no space left on the disk (free some, then retry)"
    return f"{where}: {error.strerror or error}"


def writes_project(action: Callable[_P, _T]) -> Callable[_P, _T]:
    """Turn the OSError of a project action that writes files into ProjectNotWritableError."""

    @functools.wraps(action)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return action(*args, **kwargs)
        except OSError as error:
            near = getattr(args[0], "runs_dir", None) if args else None  # a Project's
            raise ProjectNotWritableError(describe_os_error(error, near)) from error

    return wrapper
