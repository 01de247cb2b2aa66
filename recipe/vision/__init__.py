"""Image models and their input pipeline: pretrained backbones (timm, torchvision), the
preprocessing each one expects, fine-tuning, and images streamed from disk.

torch-free at import: nothing here is loaded for a config that uses no image model, so
digits and tables never pay torchvision's import time.
"""
