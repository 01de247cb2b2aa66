"""autotrain-tui: config-first deep-learning experiments, launched and watched from a terminal.

`autotrain_tui.core` is the headless run manager (no Textual, no torch); `autotrain_tui.ui` is
the Textual view over it; `autotrain_tui.cli` is the command line over the same core.
"""

__version__ = "0.1.0"
