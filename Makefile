# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test unit functional e2e lint bench bench-auth bench-purchase bench-spa vendor import clean-local

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

## bench-spa: Lighthouse scores and JavaScript size of the SPA's home and search pages
bench-spa: $(STAMP)
	npm ci --no-audit --no-fund
	$(PY) -m bench.spa $(BENCH_ARGS)

## vendor: refresh frontend/vendor/ (the Auth0 SPA SDK) from the version pinned in package.json
vendor:
	npm ci --no-audit --no-fund
	sed '/^\/\/# sourceMappingURL=/d' node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.esm.js \
		> frontend/vendor/auth0-spa-js.production.esm.js
	cp node_modules/@auth0/auth0-spa-js/LICENSE frontend/vendor/auth0-spa-js.LICENSE

## import: load FILE into the running local stack (for AWS: python -m scripts.import_catalog FILE --stage dev)
import: $(STAMP)
	$(PY) -m scripts.import_catalog $(FILE) --stage local

## clean-local: forget local data (next `make run` seeds again)
clean-local:
	rm -rf .local

## bench-coldstart: each packaged function's import and first request vs the floor (Chalice + boto3 + one client), with and without .pyc
.PHONY: bench-coldstart
bench-coldstart: $(STAMP)
	$(PY) -m bench.coldstart --stage $(or $(STAGE),dev) $(BENCH_ARGS)
