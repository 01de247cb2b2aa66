"""The HTTP API over one run: /health, /ready, /metadata, /predict (FastAPI).

The model loads in a thread after the server is listening, so `/ready` can say 503 until
it is there (a client or a load balancer waits on it) while `/health` already answers.
`/predict` takes JSON (`inputs`, `rows` or base64 `images`) or a multipart upload
(`files`), reads each sample through `recipe predict`'s own input code
(`recipe.serve.inputs`), runs it through the micro-batcher, and answers the rows `recipe
predict` prints. Anything the client got wrong is a 4xx whose `detail` names the field.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from recipe.serve.batcher import MicroBatcher, QueueFull
from recipe.serve.inputs import (
    InputError,
    expected_input,
    images_batch,
    numbers_batch,
    rows_batch,
    scratch_dir,
)
from recipe.serve.schemas import (
    MAX_SAMPLES,
    ErrorResponse,
    Health,
    Metadata,
    PredictRequest,
    PredictResponse,
    Ready,
)

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class ServeOptions:
    run_dir: str
    checkpoint: str = "auto"
    max_batch: int = 32
    max_wait_ms: float = 5.0
    queue_size: int = 256


@dataclass
class ServerState:
    options: ServeOptions
    run: Any = None  # recipe.loaded_run.LoadedRun once loaded
    metadata: dict[str, Any] | None = None
    error: str | None = None
    batcher: MicroBatcher | None = None
    requests_served: int = 0
    incoming: int = 0  # requests being read, not yet queued (the batcher may wait for them)
    # Requests are read (decoded, transformed) by a few threads, not one per request: each
    # thread running torch ops brings its own OpenMP team, and dozens of them on a few cores
    # starve the forward pass.
    readers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="read"
        )
    )
    loaded: threading.Event = field(default_factory=threading.Event)
    on_load_failure: Callable[[], None] = lambda: None


def _fail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    """pydantic's error location as the client wrote it: `inputs[2][0]`, `images[0].data`."""
    text = ""
    for part in loc:
        if part == "body":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _validation_detail(errors: list[Any]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{_location(first['loc'])}: {first['msg']}{more}"


def load_model(state: ServerState) -> None:
    """Load the run (in a thread: /health answers meanwhile); record what /metadata says."""
    from recipe.loaded_run import RunLoadError, file_sha256, load_run
    from recipe.module import default_monitor

    options = state.options
    try:
        run = load_run(options.run_dir, options.checkpoint)
    except RunLoadError as exc:
        state.error = "\n".join(exc.lines)
        print(state.error, file=sys.stderr)
        state.on_load_failure()
        return
    preprocess = run.preprocess
    monitor, mode = default_monitor(run.task)
    configured = run.config.get("trainer", {}).get("monitor", "auto")
    if configured != "auto":
        monitor = configured
        mode = "max" if any(k in monitor for k in ("acc", "f1", "r2", "auc")) else "min"
    run_id = os.path.basename(os.path.abspath(options.run_dir))
    try:
        with open(os.path.join(options.run_dir, "run.json"), encoding="utf-8") as handle:
            run_id = str(json.load(handle).get("id") or run_id)
    except (OSError, ValueError, AttributeError):
        pass
    state.metadata = {
        "run_id": run_id,
        "run_dir": os.path.abspath(options.run_dir),
        "task": run.task,
        "class_names": run.info.get("class_names"),
        "input": {
            "kind": preprocess["kind"],
            "shape": list(preprocess["input_shape"]),
            "feature_names": preprocess.get("feature_names") or preprocess.get("columns"),
            "request": expected_input(preprocess),
        },
        "checkpoint": os.path.basename(run.checkpoint),
        "checkpoint_sha256": file_sha256(run.checkpoint),
        "monitor": {"metric": monitor, "mode": mode},
        "batching": {
            "max_batch": options.max_batch,
            "max_wait_ms": options.max_wait_ms,
            "queue_size": options.queue_size,
        },
    }
    run.forward(_warm_up_batch(run))  # the first forward pass's set-up off the first request
    state.run = run
    state.loaded.set()


def _warm_up_batch(run: Any) -> Any:
    import torch

    shape = run.preprocess["input_shape"]
    if run.preprocess["kind"] == "detection_images":
        return [torch.zeros(shape)]  # a detector takes a list of images
    return torch.zeros((1, *shape))


def _infer(state: ServerState) -> Callable[[Any], list[Any]]:
    def infer(batch: Any) -> list[Any]:
        return list(state.run.results(state.run.forward(batch)))

    return infer


Uploads = list[tuple[str, str | None, bytes]]


def _read_batch(state: ServerState, request: PredictRequest | Uploads) -> tuple[Any, list[str]]:
    """The request's samples as one preprocessed batch and their labels (in a thread)."""
    preprocess, run_dir = state.run.preprocess, state.options.run_dir
    if isinstance(request, list):
        with scratch_dir() as scratch:
            batch = images_batch(preprocess, list(request), run_dir, scratch)
        return batch, [name or where for where, name, _ in request]
    given = [n for n in ("inputs", "rows", "images") if getattr(request, n) is not None]
    if len(given) != 1:
        raise InputError(
            "body",
            f"give exactly one of inputs, rows or images (got {given or 'none'}); "
            f"this model takes {expected_input(preprocess)}",
        )
    name = given[0]
    items = getattr(request, name)
    if not items:
        raise InputError(name, "an empty list; give at least one sample")
    labels = [f"{name}[{i}]" for i in range(len(items))]
    if name == "inputs":  # no files to write
        return numbers_batch(preprocess, items, run_dir), labels
    with scratch_dir() as scratch:
        if name == "rows":
            return rows_batch(preprocess, items, run_dir, scratch), labels
        images = [(f"images[{i}]", image.name, image.data) for i, image in enumerate(items)]
        batch = images_batch(preprocess, images, run_dir, scratch)
    return batch, [image.name or label for image, label in zip(items, labels, strict=True)]


async def _uploads(request: Request) -> list[tuple[str, str | None, bytes]] | JSONResponse:
    form = await request.form(max_files=MAX_SAMPLES, max_fields=8)
    unknown = [k for k in form if k != "files"]
    if unknown:
        return _fail(422, f"{unknown[0]}: unknown form field; send the images as `files`")
    uploads: list[tuple[str, str | None, bytes]] = []
    for index, part in enumerate(form.getlist("files")):
        if not isinstance(part, UploadFile):
            return _fail(422, f"files[{index}]: expected an uploaded file, got text")
        uploads.append((f"files[{index}]", part.filename, await part.read()))
    if not uploads:
        return _fail(422, "files: no file uploaded; send one or more images as `files`")
    return uploads


async def _read_request(
    state: ServerState, request: Request
) -> tuple[Any, list[str]] | JSONResponse:
    """The request's body parsed and its samples read into a batch, or the 4xx to answer."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return _fail(413, f"body: larger than {MAX_BODY_BYTES // 2**20} MiB")
    parsed: PredictRequest | list[tuple[str, str | None, bytes]]
    if content_type == "multipart/form-data":
        uploads = await _uploads(request)
        if isinstance(uploads, JSONResponse):
            return uploads
        parsed = uploads
    elif content_type in ("application/json", ""):
        try:
            parsed = PredictRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _fail(422, _validation_detail(list(exc.errors())))
    else:
        return _fail(
            415,
            f"content-type: {content_type} not taken; send application/json or multipart/form-data",
        )
    loop = asyncio.get_running_loop()
    try:
        batch, labels = await loop.run_in_executor(state.readers, _read_batch, state, parsed)
    except InputError as exc:
        return _fail(422, str(exc))
    return batch, labels


PREDICT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        },
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 413, 415, 422, 503)
}


def create_app(state: ServerState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.batcher = MicroBatcher(
            _infer(state),
            state.options.max_batch,
            state.options.max_wait_ms,
            state.options.queue_size,
            expecting=lambda: state.incoming,
        )
        state.batcher.start()
        threading.Thread(target=load_model, args=(state,), daemon=True, name="load").start()
        yield
        await state.batcher.stop()  # after uvicorn answered every request in flight
        state.readers.shutdown(wait=True)

    app = FastAPI(title="autotrain-tui run server", version="1", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _fail(422, _validation_detail(list(exc.errors())))

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        batcher = state.batcher
        return {
            "status": "ok",
            "ready": state.loaded.is_set(),
            "requests_served": state.requests_served,
            "forward_passes": batcher.forward_passes if batcher else 0,
            "queued": batcher.queue.qsize() if batcher else 0,
        }

    @app.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
    async def ready() -> Any:
        if state.loaded.is_set():
            return {"ready": True}
        return JSONResponse(
            {"ready": False, "detail": state.error or "loading the model"}, status_code=503
        )

    @app.get("/metadata", response_model=Metadata, responses={503: {"model": ErrorResponse}})
    async def metadata() -> Any:
        if not state.loaded.is_set():
            return _fail(503, "not ready: loading the model")
        return state.metadata

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=ERRORS,
        openapi_extra={"requestBody": PREDICT_BODY},
    )
    async def predict(request: Request) -> Any:
        if not state.loaded.is_set() or state.batcher is None:
            return _fail(503, "not ready: loading the model")
        state.incoming += 1
        try:
            read = await _read_request(state, request)
        finally:
            state.incoming -= 1
        if isinstance(read, JSONResponse):
            return read
        batch, labels = read
        try:
            results = await state.batcher.submit(batch)
        except QueueFull:
            return JSONResponse(
                {"detail": f"queue: full ({state.options.queue_size} requests); retry shortly"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        from recipe.loaded_run import result_row

        rows = [result_row(s, r) for s, r in zip(labels, results, strict=True)]
        try:  # rendered here: a non-finite output would otherwise be a 500 at rendering
            response = JSONResponse({"predictions": rows})
        except ValueError:
            return _fail(
                422,
                f"{labels[0].split('[')[0]}: the model's outputs for these inputs are not "
                "finite numbers (inputs far outside what it was trained on?)",
            )
        state.requests_served += 1
        return response

    def openapi() -> dict[str, Any]:
        """FastAPI's schema plus PredictRequest (the body /predict parses itself, to take
        JSON and multipart on one path)."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            body = PredictRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["PredictRequest"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
