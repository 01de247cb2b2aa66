"""Pretrained weights come only from this machine: the library's cache (Hugging Face hub for
timm, TORCH_HOME for torchvision) or a file the config names; otherwise one line saying
where the recipe looked and what to fetch. Never a network call.

The weights are real files these tests write: the state dict of a freshly initialised model,
saved where the library caches it (or anywhere, for `weights_file:`). A local socket posing
as the HTTP(S) proxy proves no network call is attempted: any request would connect to it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file
from torchvision.models import get_model

from tests.helpers import put_in_hf_cache, recipe_env

CONFIG = """\
data:
  _target_: image_folder
  path: examples/digit_images
  size: 32
dataloader:
  batch_size: 32
optimizer:
  _target_: adamw
  lr: 0.0
trainer:
  max_epochs: 1
  limit_train_batches: 2
  limit_val_batches: 1
model:
"""
# lr 0: training leaves every parameter as loaded (only BatchNorm's running statistics,
# which are buffers, move), so the checkpoint shows what the model started from.

TIMM_NAME, TIMM_REPO = "test_efficientnet", "timm/test_efficientnet.r160_in1k"
TV_NAME, TV_FILE = "mobilenet_v3_small", "mobilenet_v3_small-047dcff4.pth"


@contextmanager
def proxy_listener() -> Iterator[tuple[dict[str, str], socket.socket]]:
    """An environment whose HTTP(S) proxy is a socket of ours that never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    env = recipe_env()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[name] = proxy
    for name in ("NO_PROXY", "no_proxy", "HF_HUB_OFFLINE"):
        env.pop(name, None)  # the recipe itself must make huggingface_hub offline
    try:
        yield env, server
    finally:
        server.close()


def connections(server: socket.socket) -> int:
    """How many connections reached the proxy (pending ones stay queued until accepted)."""
    server.setblocking(False)
    count = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recipe", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def parameters_match(model: torch.nn.Module, saved: dict[str, torch.Tensor], state, skip: str):
    """Every parameter outside the classifier `skip` equals the saved one."""
    names = [n for n, _ in model.named_parameters() if not n.startswith(skip)]
    assert names and all(torch.equal(state[f"model.{n}"], saved[n]) for n in names)


def trained_state(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu")["state_dict"]


def predicts_without_the_cache(project: Path, cache: Path) -> None:
    """predict and resume need only the run: the checkpoint holds every parameter (a run
    moved to a cluster node, or a cache cleared, still continues)."""
    shutil.rmtree(cache)
    image = next((project / "examples" / "digit_images" / "7").iterdir())
    result = run(["predict", "runs/pre", str(image)], project, recipe_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"prediction"') == 1
    before = trained_state(project / "runs" / "pre")
    resumed = run(["train", "--resume", "runs/pre", "trainer.max_epochs=2"], project, recipe_env())
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = torch.load(project / "runs" / "pre" / "checkpoints" / "last.ckpt", map_location="cpu")
    assert after["global_step"] == 4  # two more steps after the first epoch's two
    # lr 0: the resumed run trained from the checkpoint's parameters, not fresh ones
    for key, value in before.items():
        if "running_" not in key and "num_batches_tracked" not in key:
            assert torch.equal(after["state_dict"][key], value), key


def test_timm_weights_come_from_the_hugging_face_cache_without_the_network(
    project: Path, tmp_path: Path
) -> None:
    model = timm.create_model(TIMM_NAME)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    put_in_hf_cache(tmp_path / "hf", TIMM_REPO, saved)
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: timm\n  name: {TIMM_NAME}\n  pretrained: true\n"
    )
    with proxy_listener() as (env, server):
        env["HF_HOME"] = str(tmp_path / "hf")
        result = run(["train", "configs/pre.yaml", "--run-dir", "runs/pre"], project, env)
        assert result.returncode == 0, result.stderr
        assert connections(server) == 0
    state = trained_state(project / "runs" / "pre")
    parameters_match(model, saved, state, "classifier.")
    assert state["model.classifier.weight"].shape[0] == 10  # timm's own new head
    predicts_without_the_cache(project, tmp_path / "hf")


def test_torchvision_weights_come_from_torch_home_without_the_network(
    project: Path, tmp_path: Path
) -> None:
    model = get_model(TV_NAME)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(saved, tmp_path / "torch" / "hub" / "checkpoints" / TV_FILE)
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: torchvision\n  name: {TV_NAME}\n  weights: DEFAULT\n"
    )
    with proxy_listener() as (env, server):
        env["TORCH_HOME"] = str(tmp_path / "torch")
        result = run(["train", "configs/pre.yaml", "--run-dir", "runs/pre"], project, env)
        assert result.returncode == 0, result.stderr
        assert connections(server) == 0
    state = trained_state(project / "runs" / "pre")
    parameters_match(model, saved, state, "classifier.3.")
    assert state["model.classifier.3.weight"].shape == (10, 1024)
    predicts_without_the_cache(project, tmp_path / "torch")


def test_a_weights_file_in_the_config_is_what_training_starts_from(project: Path) -> None:
    model = timm.create_model(TIMM_NAME)
    saved = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    (project / "weights").mkdir()
    save_file(saved, project / "weights" / "te.safetensors")
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: timm\n  name: {TIMM_NAME}\n  weights_file: weights/te.safetensors\n"
    )
    with proxy_listener() as (env, server):
        result = run(["train", "configs/pre.yaml", "--run-dir", "runs/pre"], project, env)
        assert result.returncode == 0, result.stderr
        assert connections(server) == 0
    parameters_match(model, saved, trained_state(project / "runs" / "pre"), "classifier.")


def test_missing_weights_name_both_places_and_the_file_to_fetch(
    project: Path, tmp_path: Path
) -> None:
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: timm\n  name: {TIMM_NAME}\n  pretrained: true\n"
    )
    (project / "configs" / "tv.yaml").write_text(
        CONFIG + f"  _target_: torchvision\n  name: {TV_NAME}\n  weights: DEFAULT\n"
    )
    hub = tmp_path / "hf" / "hub"
    torch_dir = tmp_path / "torch" / "hub" / "checkpoints"
    with proxy_listener() as (env, server):
        env["HF_HOME"], env["TORCH_HOME"] = str(tmp_path / "hf"), str(tmp_path / "torch")
        timm_result = run(["train", "configs/pre.yaml"], project, env)
        tv_result = run(["train", "configs/tv.yaml"], project, env)
        assert connections(server) == 0
    assert timm_result.returncode == 2
    assert timm_result.stderr.splitlines() == [
        f"configs/pre.yaml:17:15: timm {TIMM_NAME}.r160_in1k: pretrained weights are not on "
        f"this machine (not in the Hugging Face cache {hub} as {TIMM_REPO}; no 'weights_file:' "
        "set); with internet run `python -m recipe weights CONFIG`, or download "
        f"https://huggingface.co/{TIMM_REPO}/resolve/main/model.safetensors and set "
        "'weights_file: PATH'",
        "1 problem(s) found; nothing was trained.",
    ]
    assert tv_result.returncode == 2
    assert tv_result.stderr.splitlines() == [
        f"configs/tv.yaml:17:12: torchvision {TV_NAME} MobileNet_V3_Small_Weights.IMAGENET1K_V1: "
        "pretrained weights are not on this machine (not in torch's hub cache as "
        f"{torch_dir / TV_FILE}; no 'weights_file:' set); with internet run "
        "`python -m recipe weights CONFIG`, or download "
        f"https://download.pytorch.org/models/{TV_FILE} and set 'weights_file: PATH'",
        "1 problem(s) found; nothing was trained.",
    ]
    assert not (project / "runs").exists()  # refused before any run directory


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_weights_file_relative_to_the_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    from recipe.vision.models import timm_model, torchvision_model

    (project / "weights").mkdir()
    monkeypatch.chdir(project)  # the recipe runs in the project directory
    for library, name, build, head in [
        ("timm", TIMM_NAME, timm_model, "classifier."),
        ("torchvision", TV_NAME, torchvision_model, "classifier.3."),
    ]:
        fresh = timm.create_model(name) if library == "timm" else get_model(name)
        saved = {k: v.clone().contiguous() for k, v in fresh.state_dict().items()}
        path = f"weights/{name}{suffix}"
        if suffix == ".pth":
            torch.save(saved, path)
        else:
            save_file(saved, path)
        model = build(name, num_outputs=5, weights_file=path, input_shape=(3, 32, 32))
        loaded = {f"model.{k}": v for k, v in model.state_dict().items()}
        parameters_match(fresh, saved, loaded, head)
        assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_a_weights_file_that_is_missing_or_does_not_fit(project: Path) -> None:
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: torchvision\n  name: {TV_NAME}\n  weights_file: w/missing.pth\n"
    )
    result = run(["check", "configs/pre.yaml"], project, recipe_env())
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"configs/pre.yaml:17:17: weights_file 'w/missing.pth': no such file "
        f"({project / 'w' / 'missing.pth'}); put the weights there (a .pth/.pt state dict or "
        ".safetensors) or fix the path"
    )
    (project / "w").mkdir()
    torch.save(get_model("resnet18").state_dict(), project / "w" / "missing.pth")
    trained = run(["train", "configs/pre.yaml"], project, recipe_env())
    assert trained.returncode == 2
    assert (
        trained.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"weights_file 'w/missing.pth' does not fit torchvision {TV_NAME}: Missing key(s) in "
            "state_dict:"
        )
    )
    assert os.path.exists(project / "w" / "missing.pth")


@contextmanager
def refusing_proxy() -> Iterator[tuple[dict[str, str], list[int]]]:
    """A proxy that accepts each connection and hangs up at once; counts them."""
    seen: list[int] = []
    with proxy_listener() as (env, server):

        def serve() -> None:
            while True:
                try:
                    client, _ = server.accept()
                except OSError:
                    return  # shut down: the test is over
                seen.append(1)
                client.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield env, seen
        finally:
            server.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
            thread.join()


def test_the_weights_command_is_the_one_that_downloads(project: Path, tmp_path: Path) -> None:
    (project / "configs" / "pre.yaml").write_text(
        CONFIG + f"  _target_: torchvision\n  name: {TV_NAME}\n  weights: DEFAULT\n"
    )
    url = f"https://download.pytorch.org/models/{TV_FILE}"
    label = f"torchvision {TV_NAME} MobileNet_V3_Small_Weights.IMAGENET1K_V1"
    with refusing_proxy() as (env, seen):
        env["TORCH_HOME"] = str(tmp_path / "torch")
        result = run(["weights", "configs/pre.yaml"], project, env)
        assert seen  # it did go to the network (through the proxy)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{label}: downloading from {url}"]
    assert result.stderr.splitlines()[-1].startswith(f"{label}: download from {url} failed (")
    assert result.stderr.splitlines()[-1].endswith(
        "); fetch it on a machine with internet and set 'weights_file: PATH' to the copy"
    )
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / TV_FILE).exists()
    # Once the file is in the cache there is nothing to fetch, and no connection.
    cached = tmp_path / "torch" / "hub" / "checkpoints" / TV_FILE
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.save(get_model(TV_NAME).state_dict(), cached)
    with proxy_listener() as (env, server):
        env["TORCH_HOME"] = str(tmp_path / "torch")
        again = run(["weights", "configs/pre.yaml"], project, env)
        assert connections(server) == 0
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [f"{label}: already here, {cached}"]
