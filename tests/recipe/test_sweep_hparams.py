"""TensorBoard's HParams for a sweep: each real run of the sweep wrote its params and its best
monitored value, read back from its event file the way TensorBoard's HParams plugin reads it;
and which params a run reports (a search trial's, a grid point's, none outside a sweep)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from recipe.hparams import sweep_params
from tests.sweep_trials import EPOCHS, LEARNING_RATES, SearchSweep


def test_each_run_of_a_sweep_writes_its_hparams(search_sweep: SearchSweep) -> None:
    for number, run_id in enumerate(search_sweep.run_ids):
        run_dir = search_sweep.root / "runs" / run_id
        events = EventAccumulator(str(run_dir / "tb"))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        experiment = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/experiment"]
        ).experiment
        assert [m.name.tag for m in experiment.metric_infos] == ["best/val/acc"]
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        ).session_start_info
        # Launched as a grid point (the trial was written afterwards): its overrides, as numbers.
        hparams = {name: value.number_value for name, value in start.hparams.items()}
        assert hparams == {
            "optimizer.lr": float(LEARNING_RATES[number]),
            "trainer.max_epochs": EPOCHS,
        }
        accs = [
            e["metrics"]["val/acc"]
            for e in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
            if "val/acc" in e.get("metrics", {})
        ]
        [best] = events.Scalars("best/val/acc")
        assert best.value == pytest.approx(max(accs), rel=1e-6)


def test_which_params_a_run_reports(tmp_path: Path) -> None:
    record = {
        "id": "r",
        "sweep": "sweep-x",
        "overrides": ["trainer.max_epochs=9", "optimizer.lr=0.003", "model.act=gelu"],
        "trial": {"number": 4, "params": {"optimizer.lr": "0.003", "model.act": "gelu"}},
    }
    (tmp_path / "run.json").write_text(json.dumps(record))
    assert sweep_params(str(tmp_path)) == {"optimizer.lr": 0.003, "model.act": "gelu"}
    del record["trial"]  # a grid point: every override of the point
    (tmp_path / "run.json").write_text(json.dumps(record))
    assert sweep_params(str(tmp_path)) == {
        "trainer.max_epochs": 9,
        "optimizer.lr": 0.003,
        "model.act": "gelu",
    }
    del record["sweep"]  # a run of its own: nothing to compare it with
    (tmp_path / "run.json").write_text(json.dumps(record))
    assert sweep_params(str(tmp_path)) is None
    (tmp_path / "run.json").unlink()  # `python -m recipe train` by hand: no manager
    assert sweep_params(str(tmp_path)) is None
