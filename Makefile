# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run aws api test unit functional e2e lint lock audit bench bench-auth bench-purchase bench-spa bench-load bench-quality vendor import clean-local

$(STAMP): requirements.txt requirements-search.txt requirements-images.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $(STAMP)

## run: the whole shop locally (embedded AWS, seeded catalog, API :8000, SPA :8080)
run: $(STAMP)
	$(PY) -m localdev.local_stack

## aws: only the embedded AWS, its table, user pool and demo users; then `chalice local --stage local` in another terminal
aws: $(STAMP)
	$(PY) -m localdev.local_stack --aws-only

## api: `chalice local --stage local` with API Gateway's answers (401s, CORS), reloaded on edits; needs `make aws` in another terminal
api: $(STAMP)
	$(PY) -m localdev.chalice_local --stage local $(API_ARGS)

## test: the static checks (ruff, mypy, bandit), both stages' templates built, expanded by the SAM transform and cfn-lint'ed, every test tier
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy chalicelib infra localdev app.py
	$(VENV)/bin/bandit --quiet --recursive --severity-level medium chalicelib app.py infra localdev
	$(PY) -m infra.package --stage dev
	$(PY) -m infra.package --stage prod
	$(VENV)/bin/cfn-lint infra/template.yaml build/dev/expanded.json build/prod/expanded.json
	$(PY) -m pytest

unit functional e2e: $(STAMP)
	$(PY) -m pytest tests/$@

## bench: the search index at 1k/10k/50k/200k products: build, size, first search, p50/p99 vs a brute-force scan
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

## lock: the pinned and hashed requirements: requirements.txt (the Lambda package) from requirements.in, requirements-search.txt (the search engine layer) from requirements-search.in, requirements-images.txt (the image function's layer) from requirements-images.in, then requirements-dev.txt (the tools and tests, keeping those two's pins) from requirements-dev.in
LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(LOCK) --output-file requirements.txt requirements.in
	$(LOCK) --output-file requirements-search.txt requirements-search.in
	$(LOCK) --output-file requirements-images.txt requirements-images.in
	$(LOCK) --output-file requirements-dev.txt requirements-dev.in

## audit: known vulnerabilities in the locked Lambda requirements, search engine and image layers (needs PyPI's JSON API or OSV on the network)
audit: $(STAMP)
	$(VENV)/bin/pip-audit --strict --require-hashes --disable-pip -r requirements.txt -r requirements-search.txt -r requirements-images.txt

## import: load FILE into the running local stack (for AWS: python -m infra.import_catalog FILE --stage dev)
import: $(STAMP)
	$(PY) -m infra.import_catalog $(FILE) --stage local

## clean-local: forget local data (next `make run` seeds again)
clean-local:
	rm -rf .local

# --- a stage in an AWS account (docs/deploy.md) ---
STAGE ?= dev
# Only what is given is passed on: the stack keeps its other parameters' values.
given = $(filter-out undefined,$(origin $(1)))
DEPLOY_ARGS = $(if $(call given,ALARM_EMAIL),--alarm-email '$(ALARM_EMAIL)') \
	$(if $(call given,NOTIFY_FROM),--notify-from '$(NOTIFY_FROM)') \
	$(if $(call given,LOW_STOCK_EMAIL),--parameter 'LowStockEmail=$(LOW_STOCK_EMAIL)') \
	$(if $(filter 0 no false,$(SMOKE)),--no-smoke) \
	$(foreach p,$(PARAMS),--parameter '$(p)') \
	$(if $(filter force,$(SEED)),--force-seed,$(if $(filter 1 yes true,$(SEED)),--seed))
DESTROY_ARGS = $(if $(filter 1 yes true,$(PURGE)),--purge) $(if $(CONFIRM),--confirm '$(CONFIRM)')

.PHONY: package deploy destroy admin reindex chalice-config

## package: build/$(STAGE)/, the stage's template, zip and search engine layer, offline (STAGE=dev|prod; the layer's wheel is fetched once into build/.cache/)
package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE)

## deploy: create or update the stage, publish its shop, then check it answers (STAGE, ALARM_EMAIL, NOTIFY_FROM, LOW_STOCK_EMAIL, PARAMS, SEED=1|force, SMOKE=0)
deploy: package
	$(PY) -m infra.deploy deploy --stage $(STAGE) $(DEPLOY_ARGS)

## destroy: delete the stage's stack; its table and user pool are kept unless PURGE=1 (prod: and CONFIRM=prod)
destroy: $(STAMP)
	$(PY) -m infra.deploy destroy --stage $(STAGE) $(DESTROY_ARGS)

## admin: put EMAIL, who signed up in the stage's shop, in its admin group
admin: $(STAMP)
	$(if $(EMAIL),,$(error give the account's address: make admin STAGE=$(STAGE) EMAIL=you@example.com))
	$(PY) -m infra.deploy admin --stage $(STAGE) --email '$(EMAIL)'

## reindex: rebuild the stage's search index from its table (invokes its indexer function)
reindex: $(STAMP)
	$(PY) -m infra.deploy reindex --stage $(STAGE)

## chalice-config: fill the stage's environment in .chalice/config.json from its stack (for `chalice deploy`)
chalice-config: $(STAMP)
	$(PY) -m infra.stage_config --stage $(STAGE)

## bench-coldstart: each packaged function's import and first request vs the floor (Chalice + boto3 + one client), with and without .pyc
.PHONY: bench-coldstart
bench-coldstart: $(STAMP)
	$(PY) -m bench.coldstart --stage $(or $(STAGE),dev) $(BENCH_ARGS)

## bench-cost: warm duration and DynamoDB work per request of each function (docs/cost.md)
.PHONY: bench-cost
bench-cost: $(STAMP)
	$(PY) -m bench.cost $(BENCH_ARGS)

## bench-load: 32 concurrent clients for 60 s on a fresh local stack (80 % search, 15 % product, 5 % purchase)
bench-load: $(STAMP)
	$(PY) -m bench.load $(BENCH_ARGS)

## bench-quality: known-item recall@10 and MRR per kind of query, beside a reference engine (tantivy, if installed)
bench-quality: $(STAMP)
	$(PY) -m bench.search_quality $(BENCH_ARGS)

## bench-freshness: a fresh local stack: first start, edit -> searchable over HTTP, import throughput
.PHONY: bench-freshness
bench-freshness: $(STAMP)
	$(PY) -m bench.freshness $(BENCH_ARGS)

## bench-hostile: a hostile client against a fresh local stack (loopback, bounded): cases tried and failures by kind
.PHONY: bench-hostile
bench-hostile: $(STAMP)
	$(PY) -m bench.hostile $(BENCH_ARGS)
