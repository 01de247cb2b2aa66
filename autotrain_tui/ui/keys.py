"""Every key of the UI in one table: the help screen and the README read it from here."""

from __future__ import annotations

from typing import NamedTuple


class Key(NamedTuple):
    keys: str
    what: str
    where: str


KEYS: tuple[Key, ...] = (
    Key("q / ctrl+q", "quit (live runs keep running)", "anywhere (ctrl+q in the editor)"),
    Key("? / F1", "this help", "anywhere (F1 in the editor)"),
    Key("ctrl+p", "command palette: every action by name", "anywhere"),
    Key("tab / shift+tab", "next / previous pane", "anywhere"),
    Key("/", "filter configs and runs (text or status: running, failed…)", "not in the log"),
    Key("enter", "open the config / show the run", "sidebar"),
    Key("space", "mark a run for compare", "runs list"),
    Key("e", "show the editor", "anywhere"),
    Key("d", "show the dashboard of the highlighted run", "anywhere"),
    Key("escape", "leave the editor for the sidebar", "editor"),
    Key("ctrl+s", "save (atomic, text kept exactly as typed)", "editor"),
    Key("F8", "jump to the next problem", "editor"),
    Key("ctrl+r", "launch the config in the editor", "anywhere"),
    Key("ctrl+o", "launch with overrides, queue, sweep (k=a,b), on SLURM", "anywhere"),
    Key("T", "trust the project: its code may run (full check, launch)", "anywhere"),
    Key("ctrl+n", "new config from the one in the editor", "editor"),
    Key("s", "stop the run (SIGTERM, SIGKILL after the grace period)", "dashboard"),
    Key("k", "kill the run (SIGKILL, asks first)", "dashboard"),
    Key("r", "resume a stopped, failed or lost run", "dashboard"),
    Key("w", "serve the run over HTTP on a free loopback port (see Serve and export)", "dashboard"),
    Key("S", "stop the run's whole sweep (asks first)", "dashboard"),
    Key("R", "resume the stopped, failed or lost runs of the run's sweep", "dashboard"),
    Key("t", "the run's sweep: its trials sorted (o, O), curves overlaid", "dashboard"),
    Key("/ or ctrl+f", "search the log; enter: next match", "log"),
    Key("n / N", "next older / newer match; escape ends the search", "log, searching"),
    Key("left / right", "scroll long log lines sideways", "log"),
    Key("L", "set the running run's learning rate (a rate, or x0.5)", "dashboard"),
    Key("E", "extend or shorten the running run's max_epochs", "dashboard"),
    Key("W", "save a checkpoint of the running run now", "dashboard"),
    Key("o", "open the run's config in the editor", "dashboard"),
    Key("n", "clone the run's config to a new file", "dashboard"),
    Key("y", "copy the command reproducing the run (OSC 52 clipboard)", "dashboard"),
    Key("g", "open custom.py or the config at the line of the run's traceback", "dashboard"),
    Key("l", "chart: log scale on/off", "dashboard"),
    Key("m", "chart: cycle smoothing", "dashboard"),
    Key("v", "chart: cycle the metric shown", "dashboard"),
    Key("[ / ]", "media panel: older / newer image (] past the newest follows it)", "dashboard"),
    Key("i", "media panel: show / hide the run's images", "dashboard"),
    Key("c", "compare the marked runs (or the two newest)", "anywhere"),
    Key("escape", "close a dialog or the compare view", "dialogs"),
)
