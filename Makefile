# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test unit functional e2e lint bench bench-auth bench-purchase import clean-local

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## run: the whole shop locally (embedded AWS, seeded catalog, API :8000, SPA :8080)
run: $(STAMP)
	$(PY) -m scripts.stack

## test: the linters (ruff, cfn-lint on infra/) and every test tier (unit, functional, e2e)
test: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(PY) -m pytest

unit functional e2e: $(STAMP)
	$(PY) -m pytest tests/$@

## bench: search read cost and latency at 1k/10k/50k products vs a Scan baseline
bench: $(STAMP)
	$(PY) -m bench.search $(BENCH_ARGS)

## bench-auth: token verification with a warm JWKS cache vs a fetch per request
bench-auth: $(STAMP)
	$(PY) -m bench.auth $(BENCH_ARGS)

## bench-purchase: latency and DynamoDB requests per order
bench-purchase: $(STAMP)
	$(PY) -m bench.purchase $(BENCH_ARGS)

## import: load FILE into the running local stack (for AWS: python -m scripts.import_catalog FILE --stage dev)
import: $(STAMP)
	$(PY) -m scripts.import_catalog $(FILE) --stage local

## clean-local: forget local data (next `make run` seeds again)
clean-local:
	rm -rf .local
