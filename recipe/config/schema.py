"""Every config key the recipe knows, its default and what it is for — in one place.

Read this file top to bottom to learn the config format. Sections whose value is a
*reference* (something to call) are marked `REFERENCE`; their other keys are keyword
arguments of the function or class they name, checked against its signature.

A reference is written `_target_: NAME` beside its keyword arguments, where NAME is one of:
  - a short name registered in custom.py with `@register("name")`,
  - a built-in short name of that section (see recipe/builtins.py), or
  - a dotted import path such as `torch.optim.AdamW`.
A plain string is shorthand for a reference without arguments (`loss: cross_entropy`), and
references nest: any mapping with `_target_` inside a reference's arguments, at any depth and
inside lists too (`layers: [{_target_: torch.nn.Linear, ...}]`), is built first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REFERENCE = "reference"  # marks a field whose value is a reference (mapping with _target_)
REFERENCE_LIST = "reference-list"
TARGET_KEY = "_target_"


@dataclass(frozen=True)
class Field:
    """One known key: its default, the types it accepts, allowed values, and why it exists."""

    default: Any
    types: tuple[type, ...] | str
    doc: str
    choices: tuple[Any, ...] | None = None
    required: bool = False
    minimum: int | None = None  # the smallest value an int field takes


NONE = type(None)

# fmt: off
SCHEMA: dict[str, dict[str, Field] | Field] = {
    "project": {
        "name":       Field(None, (str, NONE), "run name prefix; default: the config file's name"),
        "seed":       Field(0, (int,), "seeds Python, NumPy and torch (and data splits)"),
        "output_dir": Field("runs", (str,), "where `recipe train` puts run directories"),
        "custom":     Field("custom.py", (str,), "the user's functions, relative to the project"),
    },
    # What to train on: a dataset builder returning a DataBundle (recipe/data).
    "data": Field({TARGET_KEY: "digits"}, REFERENCE, "dataset builder and its arguments",
                  required=True),
    "dataloader": {
        "batch_size":      Field(64, (int,), "training batch size"),
        "val_batch_size":  Field(None, (int, NONE), "validation batch size; default batch_size"),
        "num_workers":     Field(0, (int,), "DataLoader worker processes; 0 = in-memory fast path"),
        "pin_memory":      Field("auto", (bool, str), "pin host memory; auto: when on CUDA",
                                 choices=(True, False, "auto")),
        "drop_last":       Field(False, (bool,), "drop the last incomplete training batch"),
    },
    # The network: given input_shape= and num_outputs= when it names them (never through
    # **kwargs); other values of the data are mapped by the user with ${data.*}.
    "model": Field({TARGET_KEY: "mlp"}, REFERENCE, "model class or factory and its arguments",
                   required=True),
    # Loss: `auto` picks cross_entropy for classification and mse for regression.
    "loss": Field("auto", REFERENCE, "loss by name or reference; auto follows the task"),
    # Optimizer: called with the model's trainable parameters first. `lr: auto` runs
    # Lightning's learning-rate finder before training. Read by the recipe, not passed on:
    # `backbone_lr_mult` (the backbone's lr is lr x this; default 1) and
    # `unfreeze_warmup_steps` (re-warm the backbone's lr linearly after freeze_epochs; 0).
    "optimizer": Field({TARGET_KEY: "adamw", "lr": 1e-3}, REFERENCE, "optimizer and its arguments"),
    # Scheduler: called with the optimizer first, and total_steps / steps_per_epoch / epochs
    # when it accepts them. `interval` (step or epoch) and `monitor` are read by the recipe.
    "scheduler": Field(None, REFERENCE, "learning-rate schedule, or null for none"),
    "trainer": {
        "max_epochs":       Field(10, (int,), "epochs to train"),
        "max_steps":        Field(-1, (int,), "stop after N optimizer steps (-1: no limit)"),
        "accelerator":      Field("auto", (str,), "auto, cpu, gpu, cuda, mps"),
        "devices":          Field("auto", (int, str, list), "a device count, a list, or auto"),
        "strategy":         Field("auto", (str,), "auto, ddp, ddp_spawn, fsdp, … (Lightning)"),
        "num_nodes":        Field(1, (int,), "machines for multi-node DDP"),
        # Speed (recipe/speed.py decides and logs one `speed:` line): `auto` means what
        # fast GPU scripts use on CUDA, and the plain choice elsewhere.
        "precision":        Field("auto", (str, int),
                                  "numeric precision; auto: bf16-mixed on a CUDA GPU with "
                                  "bfloat16, else 32",
                                  choices=("auto", "32", "16-mixed", "bf16-mixed", "32-true",
                                           "64", "16-true", "bf16-true", 32, 64, 16)),
        "channels_last":    Field("auto", (bool, str),
                                  "model and batches in NHWC; auto: on CUDA for conv nets",
                                  choices=(True, False, "auto")),
        "benchmark":        Field("auto", (bool, str),
                                  "torch.backends.cudnn.benchmark; auto: on CUDA unless "
                                  "deterministic", choices=(True, False, "auto")),
        "compile":          Field(False, (bool,), "torch.compile the model (slow start)"),
        "gradient_clip_val":       Field(None, (float, NONE), "clip gradient norm to this"),
        "accumulate_grad_batches": Field(1, (int,), "accumulate gradients over N batches"),
        "deterministic":    Field(False, (bool,), "use deterministic algorithms (slower)"),
        "log_every_n_steps": Field(10, (int,), "log the training loss every N optimizer steps"),
        "check_val_every_n_epoch": Field(1, (int,), "validate every N epochs"),
        "limit_train_batches": Field(1.0, (float, int), "fraction (or count) of batches per epoch"),
        "limit_val_batches":   Field(1.0, (float, int), "fraction (or count) of val batches"),
        "monitor":          Field("auto", (str,),
                                  "metric for best checkpoint and early stopping; auto: "
                                  "val/acc (classification) or val/loss (regression)"),
        "mode":             Field("auto", (str,), "min, max, or auto (follows the metric)",
                                  choices=("auto", "min", "max")),
        "early_stopping_patience": Field(None, (int, NONE),
                                         "stop after N validations without improvement"),
        "freeze_epochs":    Field(0, (int,),
                                  "train only the head for N epochs, then unfreeze the backbone"),
        # Frozen during freeze_epochs: everything but the head (found by the library's own
        # notion of classifier, or named by head_module), or the submodule(s) freeze_module
        # names. The optimizer also takes backbone_lr_mult and unfreeze_warmup_steps.
        "freeze_module":    Field("auto", (str, list),
                                  "submodule(s) to freeze; auto: everything but the head"),
        "head_module":      Field("auto", (str, list),
                                  "submodule(s) that train while frozen; auto: found"),
    },
    # Extra Lightning callbacks, each a reference.
    "callbacks": Field([], REFERENCE_LIST, "extra Lightning callbacks"),
    "predict": {
        "postprocess": Field("auto", REFERENCE,
                             "turns model outputs into results; auto: top-k class names "
                             "(classification), values (regression), labels (multilabel), "
                             "mask (segmentation) or boxes (detection)"),
        "top_k":       Field(3, (int,), "how many classes (detection: boxes per image) the "
                                        "built-in postprocess reports"),
        "threshold":   Field(0.5, (float, int),
                             "multilabel: a label is predicted when its probability is "
                             "above; detection: a box is shown when its score is above"),
    },
    # media/ in the run directory (recipe/media.py): at each validation, the same few
    # validation images with their predictions drawn (image inputs) and, for
    # classification, the confusion matrix; TensorBoard gets them too.
    "media": {
        "images":      Field(4, (int,), "validation images drawn each validation; 0: no media/",
                             minimum=0),
        "every_n_val": Field(1, (int,), "draw at every Nth validation", minimum=1),
        "keep":        Field(10, (int,), "keep the PNGs of the newest N validations", minimum=1),
    },
    # Where and how a SLURM job runs (`autotrain-tui launch --slurm`); training never reads
    # it. Checked in recipe/config/slurm.py; `slurm_options` gives the values with defaults.
    "slurm": {
        "partition":       Field(None, (str, NONE), "partition (queue); null: the cluster's"),
        "time":            Field(None, (int, str, NONE),
                                 "time limit: minutes, 'HH:MM:SS' or 'D-HH[:MM[:SS]]'; "
                                 "null: the partition's"),
        "gpus_per_node":   Field(None, (int, NONE),
                                 "GPUs per node; null: trainer.devices on a GPU accelerator"),
        "cpus_per_task":   Field(None, (int, NONE),
                                 "CPUs per rank; null: dataloader.num_workers + 1"),
        "mem":             Field(None, (str, int, NONE),
                                 "memory per node: '32G', '500M' or MB; null: the partition's"),
        "nodes":           Field(None, (int, NONE), "nodes; null: trainer.num_nodes"),
        "account":         Field(None, (str, NONE), "account to charge; null: your default"),
        "qos":             Field(None, (str, NONE), "quality of service; null: the default"),
        "signal_before_s": Field(90, (int,),
                                 "seconds before the time limit the job is warned (USR1), "
                                 "checkpoints and requeues itself"),
        "requeue":         Field(True, (bool,), "requeue on the warning or on preemption"),
        "setup":           Field([], (list,), "shell lines run before training (module load …)"),
        "extra":           Field([], (list,), "more sbatch options, e.g. --constraint=a100"),
    },
}
# fmt: on

SECTION_NAMES: tuple[str, ...] = tuple(SCHEMA)


def defaults() -> dict[str, Any]:
    """A fresh copy of every default, as a config mapping."""
    import copy

    result: dict[str, Any] = {}
    for section, spec in SCHEMA.items():
        if isinstance(spec, Field):
            result[section] = copy.deepcopy(spec.default)
        else:
            result[section] = {key: copy.deepcopy(f.default) for key, f in spec.items()}
    return result
