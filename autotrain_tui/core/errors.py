"""Errors a user can cause, each carrying the one line the CLI and the UI show.

Anything else that escapes the core is a bug and deserves its traceback; these do not.
"""

from __future__ import annotations


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
