"""The trust prompt: what trusting a project would let run, and Trust / Not now."""

from __future__ import annotations

from autotrain_tui.ui.screens.confirm import ConfirmScreen


class TrustScreen(ConfirmScreen):
    """Dismisses with True (trust) or False (not now); `Not now` has focus, so an enter
    typed by habit trusts nothing."""

    def __init__(self, question: str) -> None:
        super().__init__(question, yes="Trust", no="Not now", focus_yes=False)
