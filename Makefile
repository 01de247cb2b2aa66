# The two commands a new user needs: `make run` and `make test`. Both set up .venv first.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup clean

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh $(VENV)
	touch $(STAMP)

setup: $(STAMP)

# exec: the shell that runs the recipe line gives way to the UI (nothing of it lingers).
run: $(STAMP)
	exec $(BIN)/autotrain-tui .

test: $(STAMP)
	bash scripts/ensure_tmux.sh
	bash scripts/ensure_slurm.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/recipe_overhead.py
	$(BIN)/python bench/vision_throughput.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
