"""The Textual UI: screens and widgets over `autotrain_tui.core`.

It never imports torch or Lightning (start-up stays instant, and it keeps working when a
run's stack is broken); everything it shows comes from run directories and process trees.
"""
