# Every target creates .venv on first use and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run chat test lint bench eval model kb screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)            ## the server on SQLite with a demo coordinator (login printed); web chat at /chat/
	$(BIN)/madoguchi serve --demo

chat: $(STAMP)           ## talk to the bot in the terminal (same engine and database)
	$(BIN)/madoguchi chat

test: $(STAMP)           ## the whole test suite
	$(BIN)/python -m pytest -q -n auto --dist loadscope

screenshots: $(STAMP)    ## the README's phone screenshots (390x844) in docs/screenshots, taken by the browser tests
	MADOGUCHI_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/e2e/test_phone_pages.py

lint: $(STAMP)           ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)          ## speed and memory figures
	$(BIN)/madoguchi bench

eval: $(STAMP)           ## classifier scores on the dev split
	$(BIN)/madoguchi eval intents/data/dev.jsonl

model: $(STAMP)          ## retrain intents/model/model.json from intents/data/train.jsonl
	$(BIN)/madoguchi train

kb: $(STAMP)             ## validate the knowledge base
	$(BIN)/madoguchi kb check

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
