"""A stand-in for `recipe` that starts in milliseconds, for the queue and control tests.

The queue's behaviour (ordering, GPU assignment, release) does not depend on what a run
computes, and a real training run costs seconds of torch import on a 2-core machine. This
module speaks the same command line and exit codes as `python -m recipe` (docs/
run-directory.md): `check` (exit 2 with FILE:LINE:COL lines for `standin.invalid=1`),
`train CONFIG --run-dir DIR` and `train --resume DIR`. A run sleeps until SIGTERM (then
writes checkpoints/last.ckpt and exits 3) or until `standin.seconds` pass (exit
`standin.exit_code`, default 0). It records its CUDA_VISIBLE_DEVICES in `env.json`.
"""
