"""The command palette's entries (ctrl+p): every action of the app by name, with its key."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand

if TYPE_CHECKING:
    from autotrain_tui.ui.app import AutotrainApp


def app_commands(app: AutotrainApp) -> Iterator[SystemCommand]:
    """The palette entries for `app`'s own actions."""
    commands: Sequence[tuple[str, str, Callable[[], Any]]] = (
        ("Launch", "Launch the config in the editor (ctrl+r)", app.action_launch),
        (
            "Launch with overrides / queue / sweep",
            "k=v overrides; k=a,b makes a sweep; here or on SLURM (ctrl+o)",
            app.action_launch_with_overrides,
        ),
        ("Save", "Save the editor's file (ctrl+s)", app.action_save),
        ("Next problem", "Jump to the next config problem (F8)", app.action_next_problem),
        (
            "New config",
            "A new config from the one in the editor (ctrl+n)",
            app.action_new_config,
        ),
        ("Show editor", "Switch to the editor (e)", app.action_show_editor),
        ("Show dashboard", "Dashboard of the highlighted run (d)", app.action_show_dashboard),
        ("Stop run", "SIGTERM, then SIGKILL after the grace period (s)", app.action_stop),
        ("Kill run", "SIGKILL the run's processes, asks first (k)", app.action_kill),
        ("Resume run", "Continue a stopped/failed run from last.ckpt (r)", app.action_resume),
        (
            "Stop sweep",
            "Stop every queued or running run of the run's sweep, asks first (S)",
            app.action_stop_sweep,
        ),
        (
            "Resume sweep",
            "Resume the stopped, failed or lost runs of the run's sweep (R)",
            app.action_resume_sweep,
        ),
        (
            "Sweep trials",
            "The run's sweep: its trials sorted, best highlighted, curves overlaid (t)",
            app.action_sweep_view,
        ),
        (
            "Search log",
            "Search the run's log; n / N walk the matches (/)",
            app.action_search_log,
        ),
        (
            "Open run config",
            "Open the config the run came from (o)",
            app.action_open_run_config,
        ),
        (
            "Clone run config",
            "Copy the run's config to configs/ (n)",
            app.action_clone_run_config,
        ),
        (
            "Copy run command",
            "Copy the shell line reproducing the run, via the terminal (y)",
            app.action_copy_command,
        ),
        (
            "Go to error",
            "Open custom.py or the config at the line of the run's traceback (g)",
            app.action_open_traceback,
        ),
        ("Chart: log scale", "Toggle a log y axis (l)", app.action_log_scale),
        ("Chart: smoothing", "Cycle the smoothing of the curves (m)", app.action_smoothing),
        (
            "Chart: next metric",
            "Cycle the metric the chart shows (v)",
            app.action_cycle_metric,
        ),
        ("Compare runs", "Overlay the marked runs (c)", app.action_compare),
        (
            "Trust project",
            "Let the project's code run: full check, launch (T)",
            app.action_trust,
        ),
        ("Filter", "Filter configs and runs by text or status (/)", app.action_filter),
        ("Keys", "Show every key (? or F1)", app.action_help),
    )
    for title, help_text, callback in commands:
        yield SystemCommand(title, help_text, callback)
