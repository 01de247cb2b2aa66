"""The detection example for real, on one shared run: stopped by SIGTERM after its first
validation, resumed at that step to completion, its mAP, its logged loss components, and
predict's boxes in the input image's own pixels."""

from __future__ import annotations

import json
import os
import re
import signal
from typing import Any

import pytest
from PIL import Image

from recipe import EXIT_STOPPED
from scripts.make_shapes_dataset import write_dataset
from tests.helpers import make_project, read_metrics, run_recipe, start_recipe, wait_for

CLASSES = ["background", "circle", "square", "triangle"]
# 240 images at 64 px: 192 to train, 24 steps an epoch at batch 8; the example's settings
# otherwise; predict shows boxes scored above 0.05 (a short schedule scores low).
ARGS = [
    "dataloader.num_workers=0",
    "dataloader.batch_size=8",
    "predict.threshold=0.05",
    "--run-dir",
    "r",
]
EPOCHS, STEPS = 4, 24


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = make_project(tmp_path_factory.mktemp("detect"))
    write_dataset(project / "data/shapes_tasks", images=240, size=64, seed=7, class_colours=True)
    process = start_recipe(
        # The schedule of a straight EPOCHS-epoch run (the stop lands in its second epoch).
        ["train", "configs/detect_shapes.yaml", f"trainer.max_epochs={EPOCHS}", *ARGS],
        project,
    )
    run_dir = project / "r"
    try:
        wait_for(
            lambda: (
                process.poll() is not None
                or (
                    (run_dir / "metrics.jsonl").exists()
                    and any("val/map_50" in r.get("metrics", {}) for r in read_metrics(run_dir))
                )
            ),
            timeout=240,
            what="the first validation",
        )
        assert process.poll() is None, process.communicate()[0]
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    stopped = read_metrics(run_dir)
    resumed = run_recipe(["train", "--resume", "r", f"trainer.max_epochs={EPOCHS}"], project)
    return {
        "project": project,
        "run_dir": run_dir,
        "stop_code": process.returncode,
        "stop_output": output,
        "stopped": stopped,
        "resumed": resumed,
    }


def test_a_detection_run_stops_on_sigterm_and_resumes_at_its_step(run: dict[str, Any]) -> None:
    assert run["stop_code"] == EXIT_STOPPED, run["stop_output"]
    stopped = run["stopped"]
    assert stopped[-1]["event"] == "end" and stopped[-1]["status"] == "stopped"
    stopped_at = stopped[-1]["step"]
    resumed = run["resumed"]
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    records = read_metrics(run["run_dir"])
    starts = [r for r in records if r.get("event") == "start"]
    assert [s["task"] for s in starts] == ["detection", "detection"]
    assert starts[0]["monitor"] == "val/map_50" and starts[0]["mode"] == "max"
    assert starts[1]["resumed"] is True and starts[1]["step"] == stopped_at
    assert records[-1]["status"] == "completed" and records[-1]["step"] == EPOCHS * STEPS
    assert (run["run_dir"] / "checkpoints/best.ckpt").is_file()


def test_the_detector_learns_and_logs_each_loss(run: dict[str, Any]) -> None:
    records = read_metrics(run["run_dir"])
    steps = [r["metrics"] for r in records if "train/classification" in r.get("metrics", {})]
    assert steps and all(
        {"train/loss", "train/bbox_regression", "train/bbox_ctrness"} <= set(m) for m in steps
    )
    for m in steps:  # the logged loss is the sum of the detector's losses
        parts = m["train/classification"] + m["train/bbox_regression"] + m["train/bbox_ctrness"]
        assert m["train/loss"] == pytest.approx(parts, rel=1e-4)
    last = [r["metrics"] for r in records if "val/map_50" in r.get("metrics", {})][-1]
    # Measured on this schedule: mAP@50 0.46-0.50 after the first epoch, 0.75-0.81 after
    # the fourth (an untrained detector scores ~0); the full example reaches 1.0 (README).
    assert last["val/map_50"] >= 0.5, last
    assert last["val/map"] <= last["val/map_50"]


def test_each_validation_draws_the_predicted_boxes_into_media(run: dict[str, Any]) -> None:
    """media/ (docs/run-directory.md): the same 4 validation images at each validation (the
    stopped attempt's and the resume's), boxes drawn, captions naming the predicted boxes
    with their scores and the true classes."""
    media = run["run_dir"] / "media"
    entries = [json.loads(line) for line in (media / "index.jsonl").read_text().splitlines()]
    assert {e["kind"] for e in entries} == {"predictions"}
    validations = [
        r["step"] for r in read_metrics(run["run_dir"]) if "val/map_50" in r.get("metrics", {})
    ]
    assert sorted(e["step"] for e in entries) == sorted(validations * 4)
    last = entries[-4:]
    assert {e["step"] for e in last} == {EPOCHS * STEPS}
    for entry in last:
        assert entry["caption"].startswith("val ") and "; true " in entry["caption"]
        with Image.open(media / entry["file"]) as picture:
            assert picture.size[0] >= 64
    # A trained detector finds shapes: its boxes are named with a score (`circle 0.87`).
    assert any(re.search(r"pred \w+ \d\.\d\d", e["caption"]) for e in last), last


def test_predict_gives_boxes_in_the_input_images_own_pixels(run: dict[str, Any]) -> None:
    project = run["project"]
    image = project / "data/shapes_tasks/images/shapes_0003.png"
    big = project / "big.png"
    Image.open(image).resize((128, 128), Image.Resampling.NEAREST).save(big)
    predict = run_recipe(["predict", "r", str(image), str(big)], project)
    assert predict.returncode == 0, predict.stderr
    small, large = (json.loads(line) for line in predict.stdout.splitlines())
    assert small["input"] == str(image) and large["input"] == str(big)
    for row, side in ((small, 64), (large, 128)):
        assert 0 < len(row["boxes"]) <= 10  # predict.top_k of the example
        scores = [b["score"] for b in row["boxes"]]
        assert scores == sorted(scores, reverse=True) and min(scores) > 0.05
        for box in row["boxes"]:
            assert set(box) == {"box", "label", "index", "score"}
            assert box["label"] == CLASSES[box["index"]] and box["index"] >= 1
            x1, y1, x2, y2 = box["box"]
            assert 0 <= x1 < x2 <= side and 0 <= y1 < y2 <= side
    # The detector sees both at 64 px (min_size): the big image's best box is the small
    # one's, twice as large, in the big image's pixels.
    a = [v * 2 for v in small["boxes"][0]["box"]]
    b = large["boxes"][0]["box"]
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    assert inter / union > 0.7, (a, b)


def test_export_refuses_a_detector_in_one_line(run: dict[str, Any]) -> None:
    exported = run_recipe(["export", "r", "--format", "onnx"], run["project"])
    assert exported.returncode != 0
    assert exported.stderr.strip().splitlines() == [
        "export: r: a detector is not exported (it takes a list of images of any size and "
        "returns a list of boxes per image, which export does not capture cleanly); use "
        "`recipe predict` on the run"
    ]
    assert not list(run["run_dir"].glob("export*"))


def test_the_server_answers_what_predict_prints(run: dict[str, Any]) -> None:
    import base64

    from tests.recipe.serve_helpers import Server

    project = run["project"]
    files = [project / f"data/shapes_tasks/images/shapes_000{i}.png" for i in (3, 4)]
    expected = run_recipe(["predict", "r", *map(str, files)], project)
    assert expected.returncode == 0, expected.stderr
    server = Server("r", project)
    try:
        server.wait_ready()
        images = [
            {"data": base64.b64encode(f.read_bytes()).decode(), "name": str(f)} for f in files
        ]
        status, body = server.post_json({"images": images})
        assert status == 200, body
        assert body["predictions"] == [json.loads(line) for line in expected.stdout.splitlines()]
    finally:
        server.stop()
