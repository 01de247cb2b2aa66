"""An HTTP server over one trained run: `python -m recipe.serve RUN_DIR [options]`.

FastAPI + uvicorn in its own process (it imports torch; the manager that starts it through
`autotrain-tui serve` never does). See `recipe.serve.app` for the endpoints,
`recipe.serve.batcher` for the micro-batching and `recipe.serve.inputs` for how requests
become the same tensors `recipe predict` makes.
"""
