"""The first-frame baseline of bench/ui.py: a bare Textual app with a header, the project's
config names in a list, and a footer. A small file of its own, so that, like the
`autotrain-tui` entry point, it costs next to nothing to compile.

    python bench/_minimal_app.py PROJECT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, OptionList


class MinimalApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        yield Header()
        yield OptionList(*self.names)
        yield Footer()


if __name__ == "__main__":
    configs = Path(sys.argv[1]) / "configs"
    MinimalApp(sorted(p.name for p in configs.iterdir() if p.suffix == ".yaml")).run()
