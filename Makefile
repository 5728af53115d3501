# Two commands a student needs: `make demo` (train the lecture-1 GAN) and `make test`; `make lab`
# opens the notebooks in JupyterLab. Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.lab-installed
LAB_DIR ?= notebooks
LAB_ARGS ?=
PYTEST_ARGS ?=
# Two pytest workers of one thread each: 2 CPU cores run the suite in about 9 minutes instead of 12.
# Each file (a notebook's cells, in order) stays on one worker.
TEST_WORKERS ?= 2

.PHONY: demo test lab figures exercises benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.10+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: train the lecture-1 MLP GAN on MNIST (cpu profile, at most 2.5 minutes), write runs/demo/;
## its pictures come from a moving average of G's weights (--ema), which removes most of the speckle
demo: $(STAMP)
	$(PY) -m gancourse train mlp-gan --dataset mnist --profile cpu --ema 0.999 --out runs/demo

## test: run the whole test suite (PYTEST_ARGS=tests for the unit tests only; TEST_WORKERS=1: one process)
test: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	touch $(LAB_STAMP)

## lab: install JupyterLab into .venv (the lab extra) and open notebooks/ in it (LAB_DIR=exercises for practice)
lab: $(LAB_STAMP)
	$(PY) -m jupyterlab $(LAB_ARGS) $(LAB_DIR)

## benchmark: in-memory batches vs the per-item DataLoader, images/s
benchmark: $(STAMP)
	$(PY) benchmarks/data_pipeline.py

clean:
	rm -rf runs .pytest_cache

## exercises: regenerate exercises/ from solutions/
exercises: $(STAMP)
	$(PY) tools/make_exercises.py

## figures: re-execute every notebook from scratch with papermill (cpu profile, no widgets, cell timeout)
figures: $(STAMP)
	$(PY) tools/run_notebooks.py
