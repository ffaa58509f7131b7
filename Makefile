# `make train` and `make test` create .venv from requirements.txt when it is missing or stale.
PYTHON ?= python3
VENV ?= .venv
SHARED ?= ../shared
DATA_DIR ?= $(SHARED)/data/tensorflow_datasets
WORKDIR ?= runs/mnist
EXPORT_DIR ?= exports
INCEPTION ?= $(SHARED)/data/inception/inception-2015-12-05-pool3.pb
TRAIN_FLAGS ?=
PYTEST_FLAGS ?= --durations=25

BIN := $(VENV)/bin
STAMP := $(VENV)/.kgan-installed

.PHONY: venv train export evaluate test bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(STAMP)

# Train the default MNIST DCGAN offline; run again to resume.
train: $(STAMP)
	$(BIN)/python train.py --workdir=$(WORKDIR) --data_dir=$(DATA_DIR) $(TRAIN_FLAGS)

# Export the trained generator (SavedModel + TFLite) as the next version under $(EXPORT_DIR).
export: $(STAMP)
	$(BIN)/python export.py --workdir=$(WORKDIR) --export_dir=$(EXPORT_DIR)

# FID, KID and MNIST mode coverage of the run's newest checkpoint (10,000 samples).
evaluate: $(STAMP)
	$(BIN)/python evaluate.py --workdir=$(WORKDIR) --inception_path=$(INCEPTION)

test: $(STAMP)
	KGAN_SHARED_DATA=$(SHARED)/data $(BIN)/python -m pytest $(PYTEST_FLAGS) tests

bench: $(STAMP)
	$(BIN)/python bench/train_throughput.py --data_dir=$(DATA_DIR)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
