"""Built-in short names for each reference section, as `module:attribute` strings.

Kept torch-free (names only, imported lazily) so the config check can tell a typo from a
real name as the user types. Custom names registered in custom.py take precedence.
"""

from __future__ import annotations

BUILTINS: dict[str, dict[str, str]] = {
    "data": {
        "digits": "recipe.data:digits",
        "iris": "recipe.data:iris",
        "wine": "recipe.data:wine",
        "breast_cancer": "recipe.data:breast_cancer",
        "diabetes": "recipe.data:diabetes",
        "csv": "recipe.data:csv",
        "image_folder": "recipe.data:image_folder",
        "image_manifest": "recipe.data:image_manifest",
        "npz": "recipe.data:npz",
        "multilabel_manifest": "recipe.data.multilabel:multilabel_manifest",
        "segmentation_folder": "recipe.data.segmentation:segmentation_folder",
        "segmentation_coco": "recipe.data.coco_masks:segmentation_coco",
        "detection_coco": "recipe.data.detection:detection_coco",
        "detection_voc": "recipe.data.detection:detection_voc",
        "detection_manifest": "recipe.data.detection:detection_manifest",
    },
    "model": {
        "mlp": "recipe.models:MLP",
        "cnn": "recipe.models:SmallCNN",
        "resnet": "recipe.models:SmallResNet",
        # `{_target_: timm, name: resnet18, pretrained: true}`, `{_target_: torchvision,
        # name: efficientnet_b0, weights: DEFAULT}`: the libraries' models by name.
        "timm": "recipe.vision.models:timm_model",
        "torchvision": "recipe.vision.models:torchvision_model",
        # Segmentation (logits (N, classes, H, W)): recipe.vision.segmentation.
        "unet": "recipe.vision.segmentation:UNet",
        "lraspp_mobilenet_v3_large": "recipe.vision.segmentation:lraspp_mobilenet_v3_large",
        "deeplabv3_mobilenet_v3_large": "recipe.vision.segmentation:deeplabv3_mobilenet_v3_large",
        "fcn_resnet50": "recipe.vision.segmentation:fcn_resnet50",
        # Detection (a loss dict in training, boxes in eval): recipe.vision.detection.
        "tiny_fcos": "recipe.vision.detection:tiny_fcos",
        "fasterrcnn_mobilenet_v3_large_320_fpn": (
            "recipe.vision.detection:fasterrcnn_mobilenet_v3_large_320_fpn"
        ),
        "ssdlite320_mobilenet_v3_large": "recipe.vision.detection:ssdlite320_mobilenet_v3_large",
        "retinanet_resnet50_fpn": "recipe.vision.detection:retinanet_resnet50_fpn",
        "fcos_resnet50_fpn": "recipe.vision.detection:fcos_resnet50_fpn",
    },
    "loss": {
        "cross_entropy": "torch.nn:CrossEntropyLoss",
        "nll": "torch.nn:NLLLoss",
        "bce_with_logits": "torch.nn:BCEWithLogitsLoss",
        "mse": "torch.nn:MSELoss",
        "l1": "torch.nn:L1Loss",
        "smooth_l1": "torch.nn:SmoothL1Loss",
        "huber": "torch.nn:HuberLoss",
        "dice_ce": "recipe.losses:DiceCrossEntropy",
        "detector": "recipe.losses:DetectorLoss",
    },
    "optimizer": {
        "adamw": "torch.optim:AdamW",
        "adam": "torch.optim:Adam",
        "sgd": "torch.optim:SGD",
        "rmsprop": "torch.optim:RMSprop",
    },
    "scheduler": {
        "warmup_cosine": "recipe.schedules:warmup_cosine",
        "onecycle": "recipe.schedules:one_cycle",
        "cosine": "recipe.schedules:cosine",
        "step": "torch.optim.lr_scheduler:StepLR",
        "plateau": "torch.optim.lr_scheduler:ReduceLROnPlateau",
        "exponential": "torch.optim.lr_scheduler:ExponentialLR",
    },
    "callbacks": {
        "early_stopping": "pytorch_lightning.callbacks:EarlyStopping",
        "swa": "pytorch_lightning.callbacks:StochasticWeightAveraging",
        "lr_monitor": "pytorch_lightning.callbacks:LearningRateMonitor",
    },
    "postprocess": {
        "topk": "recipe.postprocess:topk_classes",
        "values": "recipe.postprocess:regression_values",
        "labels": "recipe.postprocess:multilabel_labels",
        "mask": "recipe.postprocess:segmentation_masks",
        "boxes": "recipe.postprocess:detection_boxes",
    },
}

# Arguments the recipe supplies itself when the target names them as parameters (never
# through **kwargs; not the user's to set). Other values of the data are mapped by the
# user: `num_classes: ${data.num_classes}` (recipe.config.data_values).
INJECTED: dict[str, tuple[str, ...]] = {
    "data": ("seed", "preprocessing"),
    "model": ("input_shape", "num_outputs"),
    "loss": (),
    "optimizer": ("params",),
    "scheduler": ("optimizer", "total_steps", "steps_per_epoch", "epochs"),
    "callbacks": (),
    "postprocess": ("outputs", "class_names", "top_k", "threshold", "sources", "out_dir"),
}

# Keys of a reference the recipe reads itself and does not pass to the target.
RESERVED: dict[str, tuple[str, ...]] = {
    "optimizer": ("backbone_lr_mult", "unfreeze_warmup_steps"),  # recipe.finetune
    "scheduler": ("interval", "monitor"),
}


def section_kind(path: tuple[str | int, ...]) -> str:
    """Which built-in table a reference at `path` draws from (nested refs inherit)."""
    head = str(path[0]) if path else ""
    if head == "predict":
        return "postprocess"
    return head
