"""Bytes the dashboard's media panel sends to the terminal, beside the same dashboard without it.

    python bench/media_output.py                  # 120x40, TERM=xterm-256color (~1.5 minutes)
    python bench/media_output.py --truecolor      # COLORTERM=truecolor: RGB sequences

The harness of bench/terminal_output.py (the UI in a private tmux server, `pipe-pane`
recording every byte it writes). The run's images are 128x128 validation-like pictures
(a seeded noise texture, shapes, a drawn box and label): close to the worst case for half
blocks, where nearly every cell differs from its neighbour. Figures:

- the dashboard's first frame (bytes from `d` on the run until its screen is up and 3 s
  have passed), for a finished run with `media/` and for the same run without;
- idle bytes/s on each (nothing changes: the panel must cost nothing);
- one step to an older image (`[`): the bytes of one image repaint;
- while a run's validations write a burst of images (4 predictions + a confusion matrix)
  every `--every` seconds, as `media/` PNGs renamed into place and index lines: bytes/s with
  the panel shown, then with it hidden (`i`), in the same UI;
- the pixel paths (Sixel, Kitty graphics) for one image at the panel's size, encoded by
  textual-image off any terminal (tmux passes neither to the outer terminal): what each
  would send per image shown.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw
from terminal_output import (
    UI_SETTLED,
    Pane,
    TmuxServer,
    arrival,
    print_table,
    rate,
    settle,
    share,
    show_highlighted_run,
    size_text,
    ui_command,
    wait_for,
)
from ui import make_project, write_fake_run

FIRST_FRAME_WAIT_S = 3.0
BURST = (("predictions", 4), ("confusion", 1))


def validation_image(seed: int, size: int = 128) -> Image.Image:
    """A validation-like picture: textured background, two shapes, a box with its label."""
    rng = random.Random(seed)
    noise = Image.effect_noise((size, size), 48).convert("L")
    tint = tuple(rng.randrange(60, 200) for _ in range(3))
    image = Image.merge("RGB", [noise.point(lambda v, t=t: min(255, v * t // 128)) for t in tint])
    draw = ImageDraw.Draw(image)
    for _ in range(2):
        x, y, r = rng.randrange(16, size - 16), rng.randrange(16, size - 16), rng.randrange(8, 24)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    x, y = rng.randrange(0, size // 2), rng.randrange(0, size // 2)
    draw.rectangle((x, y, x + size // 3, y + size // 3), outline=(255, 40, 40), width=2)
    draw.text((x + 2, y + 2), "circle 0.93", fill=(255, 255, 255))
    return image


def confusion_image(seed: int, classes: int = 10, cell: int = 12) -> Image.Image:
    """A confusion-matrix-like picture: a strong diagonal, a few errors."""
    rng = random.Random(seed)
    image = Image.new("RGB", (classes * cell, classes * cell), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for i in range(classes):
        for j in range(classes):
            share = 0.9 if i == j else rng.random() * 0.1
            shade = int(255 * (1 - share))
            draw.rectangle(
                (j * cell, i * cell, (j + 1) * cell - 1, (i + 1) * cell - 1),
                fill=(shade, shade, 255),
            )
    return image


def write_validation(run_dir: Path, step: int, epoch: int) -> None:
    """One validation's images, each PNG renamed into place, then its index line."""
    media = run_dir / "media"
    media.mkdir(exist_ok=True)
    for kind, count in BURST:
        for n in range(count):
            name = f"{kind}-s{step:07d}-{n}.png"
            image = (
                confusion_image(step) if kind == "confusion" else validation_image(step * 10 + n)
            )
            partial = media / f".{name}.tmp"
            image.save(partial, format="PNG")
            os.replace(partial, media / name)
            line = {
                "step": step,
                "epoch": epoch,
                "kind": kind,
                "file": name,
                "caption": f"val image {n}: pred circle, true circle",
                "time": time.time(),
            }
            with (media / "index.jsonl").open("a") as handle:
                handle.write(json.dumps(line) + "\n")


def open_dashboard(pane: Pane, run_id: str) -> None:
    """Once the UI settled, the run's dashboard."""
    settle(pane, [*UI_SETTLED, run_id])
    show_highlighted_run(pane)


def finished(
    server: TmuxServer, tmp: Path, media: bool, seconds: float, truecolor: bool
) -> tuple[int, float, int | None]:
    """(dashboard first frame bytes, idle bytes/s, bytes of one step to an older image)."""
    name = "with" if media else "without"
    project = make_project(tmp / f"finished-{name}")
    run = write_fake_run(project, "run-finished", "completed", created_at=time.time() - 4000)
    if media:
        for epoch in range(3):
            write_validation(run, (epoch + 1) * 100, epoch)
    with server.pane(ui_command(truecolor), tmp / f"finished-{name}.bin", cwd=project) as pane:
        settle(pane, [*UI_SETTLED, run.name])
        pane.keys("Tab")  # to the runs list (show_highlighted_run), before the count
        wait_for(pane, "space Mark")
        time.sleep(0.5)
        before = pane.bytes_written()
        pane.keys("d")
        wait_for(pane, "loss (train, val)", "completed", *(["(newest)"] if media else []))
        time.sleep(FIRST_FRAME_WAIT_S)
        first = pane.bytes_written() - before
        idle = rate(pane, seconds)
        step = None
        if media:
            before = pane.bytes_written()
            pane.keys("[")
            wait_for(pane, "14/15")
            time.sleep(FIRST_FRAME_WAIT_S)
            step = pane.bytes_written() - before - round(idle * FIRST_FRAME_WAIT_S)
        return first, idle, step


def arriving(
    server: TmuxServer, tmp: Path, every: float, seconds: float, truecolor: bool
) -> tuple[float, float, int]:
    """(bytes/s shown, bytes/s hidden, validations written) while a live run's validations
    add images every `every` seconds."""
    project = make_project(tmp / "arriving")
    sleeper = subprocess.Popen(["sleep", "600"])  # the run's "process": the run is live
    stop = threading.Event()
    written = [0]

    def validations(run_dir: Path) -> None:
        while not stop.wait(every):
            written[0] += 1
            write_validation(run_dir, 1000 + written[0] * 10, written[0])

    try:
        run = write_fake_run(
            project, "run-live", "running", created_at=time.time() - 100, pid=sleeper.pid
        )
        write_validation(run, 1000, 0)
        with server.pane(ui_command(truecolor), tmp / "arriving.bin", cwd=project) as pane:
            open_dashboard(pane, run.name)
            wait_for(pane, "loss (train, val)", "(newest)")
            time.sleep(FIRST_FRAME_WAIT_S)
            writer = threading.Thread(target=validations, args=(run,), daemon=True)
            writer.start()
            time.sleep(every)  # the first burst in
            shown = rate(pane, seconds)
            pane.keys("i")
            time.sleep(1.0)
            hidden = rate(pane, seconds)
            stop.set()
            writer.join()
            return shown, hidden, written[0]
    finally:
        stop.set()
        sleeper.kill()
        sleeper.wait()


def pixel_bytes(cols: int, rows: int, cell: tuple[int, int] = (10, 20)) -> dict[str, int]:
    """Bytes one image costs on each path at `cols`x`rows` cells of `cell` pixels (the
    half-block figure is from the terminal above; these are textual-image's encoders)."""
    from rich.console import Console
    from textual_image._terminal import CellSize, get_cell_size
    from textual_image.renderable.sixel import Image as SixelImage
    from textual_image.renderable.tgp import Image as TGPImage

    setattr(get_cell_size, "_result", CellSize(*cell))  # noqa: B010 (no terminal to ask)
    image = validation_image(1)
    image.thumbnail((cols * cell[0], rows * cell[1]))
    out: dict[str, int] = {}
    for name, kind in (("sixel", SixelImage), ("kitty", TGPImage)):
        text = io.StringIO()
        console = Console(file=text, width=cols, force_terminal=True, color_system="truecolor")
        captured = io.StringIO()
        saved = sys.__stdout__
        sys.__stdout__ = captured  # type: ignore[misc, assignment]  # TGP writes there
        try:
            console.print(kind(image, width="auto", height="auto"))
        finally:
            sys.__stdout__ = saved  # type: ignore[misc]
        out[name] = len(text.getvalue().encode()) + len(captured.getvalue().encode())
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="120x40", help="terminal WIDTHxHEIGHT (120x40)")
    parser.add_argument("--seconds", type=float, default=10.0, help="each measuring window")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between validations")
    parser.add_argument("--truecolor", action="store_true", help="also set COLORTERM=truecolor")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    colours = "COLORTERM=truecolor" if args.truecolor else "no COLORTERM"
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; terminal {width}x"
        f"{height} in tmux, TERM=xterm-256color, {colours}; windows of {args.seconds:g} s; "
        f"a validation every {args.every:g} s writes {sum(n for _, n in BURST)} images"
    )
    server = TmuxServer(width, height)
    try:
        with tempfile.TemporaryDirectory(prefix="autotrain-bench-media-") as name:
            tmp = Path(name)
            first_with, idle_with, step = finished(server, tmp, True, args.seconds, args.truecolor)
            first_without, idle_without, _ = finished(
                server, tmp, False, args.seconds, args.truecolor
            )
            shown, hidden, validations = arriving(
                server, tmp, args.every, args.seconds, args.truecolor
            )
    finally:
        server.close()
    link = "1 Mbit/s / 56 kbit/s"
    table = [
        ["figure", "with the panel", "without", f"panel over {link}"],
        [
            f"dashboard first frame (+{FIRST_FRAME_WAIT_S:g} s)",
            size_text(first_with),
            size_text(first_without),
            arrival(first_with),
        ],
        [
            "idle, finished run",
            f"{size_text(idle_with)}/s",
            f"{size_text(idle_without)}/s",
            share(idle_with),
        ],
        ["one step to an older image", size_text(step or 0), "-", arrival(step or 0)],
        [
            f"a validation every {args.every:g} s ({validations} written), 5 images each",
            f"{size_text(shown)}/s",
            f"{size_text(hidden)}/s (hidden with i)",
            share(shown),
        ],
    ]
    print_table(table)
    with contextlib.suppress(Exception):  # textual-image's encoders, off any terminal
        pixels = pixel_bytes(32, 16)
        print(
            "one 128x128 image at 32x16 cells of 10x20 px (320x320 px), textual-image: "
            + ", ".join(f"{k} {size_text(v)} ({arrival(v)})" for k, v in pixels.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
