"""The server's typed request and response models: FastAPI builds the OpenAPI schema from
them, and pydantic's checks name the field that does not fit."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_SAMPLES = 1024  # per request: a client with more sends several requests


class ImageInput(BaseModel):
    """One image, its file's bytes in base64 (PNG, JPEG, … as `recipe predict` reads)."""

    model_config = ConfigDict(extra="forbid")
    data: str = Field(description="the image file's bytes, base64-encoded")
    name: str | None = Field(
        default=None, max_length=255, description="labels the prediction (default images[i])"
    )


class PredictRequest(BaseModel):
    """Exactly one of `inputs`, `rows` or `images`, as the model takes (see /metadata)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    inputs: list[list[float]] | None = Field(
        default=None,
        max_length=MAX_SAMPLES,
        description="one list of numbers per sample: features in order, or a flat array",
    )
    rows: list[dict[str, float | str | None]] | None = Field(
        default=None,
        max_length=MAX_SAMPLES,
        description="one object per sample: column name to value",
    )
    images: list[ImageInput] | None = Field(default=None, max_length=MAX_SAMPLES)


class TopKEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    class_: str = Field(alias="class")
    index: int
    probability: float


class Prediction(BaseModel):
    """One line of `recipe predict`'s output; a custom postprocess may add its own keys."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    input: str = Field(description="which sample: inputs[i], rows[i], an image's name")
    prediction: Any = Field(description="the class name, or the value(s)")
    top_k: list[TopKEntry] | None = None


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class ErrorResponse(BaseModel):
    detail: str = Field(description="the field that did not fit and what was expected")


class Health(BaseModel):
    status: str
    ready: bool
    requests_served: int
    forward_passes: int
    queued: int = Field(description="requests waiting for a forward pass")


class Ready(BaseModel):
    ready: bool
    detail: str | None = None


class Metadata(BaseModel):
    run_id: str
    run_dir: str
    task: str
    class_names: list[str] | None
    input: dict[str, Any] = Field(description="the input kind, shape and what a request holds")
    checkpoint: str
    checkpoint_sha256: str
    monitor: dict[str, Any]
    batching: dict[str, Any]
