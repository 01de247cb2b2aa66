"""The UI's pure parts, directly: metric history, chart maths, saving, config diff, summaries."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autotrain_tui.core.runs import read_run
from autotrain_tui.ui.config_diff import differing_keys, flatten
from autotrain_tui.ui.editing import read_recovery, recovery_path, save_text, write_recovery
from autotrain_tui.ui.format import duration, number, size
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.run_summary import RunSummaries
from autotrain_tui.ui.screens.launch import LaunchRequest, parse_overrides
from autotrain_tui.ui.widgets.editor import parse_located, quick_problems
from autotrain_tui.ui.widgets.loss_chart import downsample, smooth, step_ticks
from autotrain_tui.ui.widgets.system_panel import sparkline
from tests.ui.fixtures import T0, write_run


def test_metric_history_tracks_progress_best_and_eta() -> None:
    history = MetricHistory()
    history.add([{"event": "start", "step": 0, "monitor": "val/acc", "mode": "max"}])
    history.add(
        [
            {
                "time": 100.0,
                "step": 10,
                "epoch": 0,
                "total_steps": 100,
                "max_epochs": 5,
                "metrics": {"train/loss": 2.0, "val/acc": 0.5},
            },
            {
                "time": 110.0,
                "step": 20,
                "epoch": 1,
                "total_steps": 100,
                "max_epochs": 5,
                "metrics": {"train/loss": 1.0, "val/acc": 0.7},
            },
            {
                "time": 120.0,
                "step": 30,
                "epoch": 1,
                "total_steps": 100,
                "max_epochs": 5,
                "metrics": {"val/acc": 0.6},
            },
        ]
    )
    assert history.best() == 0.7
    assert history.best("train/loss") == 1.0
    assert history.progress.describe() == "epoch 2/5 · step 30/100"
    assert history.eta_s() == pytest.approx(70.0)  # 70 steps left at 1 step/s
    assert history.key_metric() == "val/acc"
    version = history.version
    assert not history.add([{"unknown": 1}])
    assert history.version == version


def test_series_memory_is_bounded() -> None:
    history = MetricHistory(max_points=100)
    history.add({"step": i, "metrics": {"train/loss": 1.0 / (i + 1)}} for i in range(1000))
    assert len(history.series["train/loss"]) <= 100
    assert history.series["train/loss"].best_min == pytest.approx(1 / 1000)


def test_downsample_and_smooth() -> None:
    xs = [float(i) for i in range(1000)]
    out_x, out_y = downsample(xs, xs, 10)
    assert len(out_x) == 10 and out_y[0] == pytest.approx(49.5)
    assert downsample([1.0, 2.0], [3.0, 4.0], 10) == ([1.0, 2.0], [3.0, 4.0])
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # debiased
    assert smooth([0.0, 10.0], 0.0) == [0.0, 10.0]


def test_save_keeps_text_and_mode_exactly(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("a: 1\n")
    os.chmod(target, 0o640)
    text = "# comment\nb: 2   # trailing\n\n\nz: [1,2]\n"
    save_text(target, text)
    assert target.read_bytes() == text.encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_recovery_copy_round_trip(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("a: 1\n")
    assert read_recovery(target) is None
    write_recovery(target, "a: 2\n")
    assert recovery_path(target).name == ".c.yaml.autotrain-recovery"
    assert read_recovery(target) == "a: 2\n"
    write_recovery(target, "a: 1\n")  # same as the file: nothing to recover
    assert read_recovery(target) is None
    assert not recovery_path(target).exists()


def test_config_diff_keeps_only_differing_keys() -> None:
    a = flatten({"model": {"hidden": [16], "_target_": "mlp"}, "optimizer": {"lr": 0.1}})
    b = flatten({"model": {"hidden": [32], "_target_": "mlp"}, "optimizer": {"lr": 0.1}})
    c = flatten({"model": {"hidden": [16], "_target_": "mlp"}})
    assert differing_keys([a, b, c]) == [
        ("model.hidden", ["[16]", "[32]", "[16]"]),
        ("optimizer.lr", ["0.1", "0.1", "—"]),
    ]


def test_formatting() -> None:
    assert [duration(s) for s in (None, 5, 65, 3700, 90000)] == [
        "-",
        "5s",
        "1m05s",
        "1h01m",
        "1d01h",
    ]
    assert [duration(s, coarse=True) for s in (5, 65, 3700)] == ["5s", "1m", "1h01m"]
    assert size(1536 * 2**20) == "1.5 GiB"
    assert number(0.97312) == "0.9731" and number(1.2e-5) == "1.20e-05"
    assert sparkline([0, 50, 100, 200]) == "▁▄██"


def test_quick_problems_and_located_lines(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    text = config.read_text().replace("lr: 3.0e-3", "lr: [oops")
    problems = quick_problems(text, config, ui_project)
    assert problems and problems[0][0] >= 1
    assert quick_problems(config.read_text(), config, ui_project) == []
    assert quick_problems("def f(:\n", ui_project / "custom.py", ui_project)[0][0] == 1
    assert parse_located(["configs/x.yaml:3:5: bad", "plain"]) == [(3, 5, "bad"), (1, 1, "plain")]


def test_overrides_prompt_parsing() -> None:
    request = LaunchRequest(parse_overrides("a=1 'b=x y' c=1,2"), queue=False)
    assert request.overrides == ("a=1", "b=x y", "c=1,2")
    assert request.is_sweep
    assert not LaunchRequest(("model.hidden=[16,32]",), queue=False).is_sweep


def test_run_summaries_read_finished_runs_from_their_end(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "r1", "completed", started_at=T0)
    summary = RunSummaries().update([read_run(run_dir)])["r1"]
    assert summary.progress.step == 200
    assert summary.metric in ("val/loss", "train/loss", "val/acc")
    assert summary.value is not None


def test_run_summaries_read_a_few_new_finished_runs_per_call(tmp_path: Path) -> None:
    records = [
        read_run(write_run(tmp_path, f"r{i}", "completed", started_at=T0 + i)) for i in range(5)
    ]
    summaries = RunSummaries()
    assert sorted(summaries.update(records, first_reads=2)) == ["r0", "r1"]  # in the order given
    assert sorted(summaries.update(records, first_reads=2)) == ["r0", "r1", "r2", "r3"]
    assert sorted(summaries.update(records, first_reads=2)) == ["r0", "r1", "r2", "r3", "r4"]
    assert summaries.update(records, first_reads=0)["r4"].progress.step == 200  # kept


async def test_system_panel_repaints_only_the_part_that_changed() -> None:
    """A tick that moves only the host's CPU repaints one row, not the panel: over a slow
    SSH link the idle dashboard's output is this panel's repaints. (No GPU here: a GPU's
    own sparkline moves on every tick, so its row is repainted with the host's.)"""
    from dataclasses import replace

    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from autotrain_tui.core.sampler import HostSnapshot, SystemSnapshot
    from autotrain_tui.ui.widgets.system_panel import SystemPanel
    from tests.ui.fixtures import NOW

    class PanelApp(App[None]):
        def compose(self) -> ComposeResult:
            yield SystemPanel(id="system")

    host = HostSnapshot(
        cpu_percent=10.0, cpu_count=2, memory_used_bytes=2**30, memory_total_bytes=2**34
    )
    first = SystemSnapshot(time=NOW, host=host, gpus=(), gpu_message="no NVIDIA GPU (no driver)")
    app = PanelApp()
    async with app.run_test(size=(100, 10)) as pilot:
        panel = app.query_one(SystemPanel)
        panel.show_run("r1")
        panel.add_snapshot(first)
        await pilot.pause()
        updates: dict[str, int] = {}
        for part in SystemPanel.PARTS:
            static = panel.query_one(f"#system-{part}", Static)
            original = static.update

            def counted(*args, _part=part, _original=original, **kwargs):  # type: ignore[no-untyped-def]
                updates[_part] = updates.get(_part, 0) + 1
                return _original(*args, **kwargs)

            static.update = counted  # type: ignore[method-assign]
        panel.add_snapshot(replace(first, host=replace(host, cpu_percent=55.0)))
        await pilot.pause()
        assert updates == {"host": 1}
        assert "host CPU  55% of 2" in panel.render_text()
        assert "no NVIDIA GPU (no driver)" in panel.render_text()
        assert "run  no live processes" in panel.render_text()


@pytest.mark.parametrize(
    ("low", "high", "ticks", "labels"),
    [
        (5, 160, [50, 100, 150], ["50", "100", "150"]),
        (0, 460, [0, 100, 200, 300, 400], ["0", "100", "200", "300", "400"]),
        (0, 3, [0, 1, 2, 3], ["0", "1", "2", "3"]),
        (2.5, 7.5, [3, 4, 5, 6, 7], ["3", "4", "5", "6", "7"]),  # within the data only
        (7, 7, [7], ["7"]),
        (100, 46_000, [10_000, 20_000, 30_000, 40_000], ["10k", "20k", "30k", "40k"]),
        (
            0,
            2_500_000,
            [0, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000],
            ["0", "0.5M", "1M", "1.5M", "2M", "2.5M"],
        ),
        (
            0,
            50_000_000,
            [0, 10_000_000, 20_000_000, 30_000_000, 40_000_000, 50_000_000],
            ["0", "10M", "20M", "30M", "40M", "50M"],
        ),
    ],
)
def test_step_ticks_are_round_whole_steps(low, high, ticks, labels) -> None:
    assert step_ticks(low, high) == (ticks, labels)
