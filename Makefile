# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test unit functional e2e lint bench bench-auth bench-purchase bench-spa bench-quality vendor import clean-local

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## run: the whole shop locally (embedded AWS, seeded catalog, API :8000, SPA :8080)
run: $(STAMP)
	$(PY) -m scripts.stack

## test: the linters (ruff; cfn-lint on both stages' built templates) and every test tier (unit, functional, e2e)
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m infra.package --stage dev
	$(PY) -m infra.package --stage prod
	$(VENV)/bin/cfn-lint infra/template.yaml build/dev/template.json build/prod/template.json
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

# --- a stage in an AWS account (docs/deploy.md) ---
STAGE ?= dev
# Only what is given is passed on: the stack keeps its other parameters' values.
given = $(filter-out undefined,$(origin $(1)))
DEPLOY_ARGS = $(if $(call given,ALARM_EMAIL),--alarm-email '$(ALARM_EMAIL)') \
	$(if $(call given,NOTIFY_FROM),--notify-from '$(NOTIFY_FROM)') \
	$(foreach p,$(PARAMS),--parameter '$(p)') \
	$(if $(filter force,$(SEED)),--force-seed,$(if $(filter 1 yes true,$(SEED)),--seed))
DESTROY_ARGS = $(if $(filter 1 yes true,$(PURGE)),--purge) $(if $(CONFIRM),--confirm '$(CONFIRM)')

.PHONY: package deploy destroy admin chalice-config

## package: build/$(STAGE)/, the stage's template and zip, offline (STAGE=dev|prod)
package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE)

## deploy: create or update the stage and publish its shop (STAGE, ALARM_EMAIL, NOTIFY_FROM, PARAMS, SEED=1|force)
deploy: package
	$(PY) -m infra.deploy deploy --stage $(STAGE) $(DEPLOY_ARGS)

## destroy: delete the stage's stack; its table and user pool are kept unless PURGE=1 (prod: and CONFIRM=prod)
destroy: $(STAMP)
	$(PY) -m infra.deploy destroy --stage $(STAGE) $(DESTROY_ARGS)

## admin: put EMAIL, who signed up in the stage's shop, in its admin group
admin: $(STAMP)
	$(if $(EMAIL),,$(error give the account's address: make admin STAGE=$(STAGE) EMAIL=you@example.com))
	$(PY) -m infra.deploy admin --stage $(STAGE) --email '$(EMAIL)'

## chalice-config: fill the stage's environment in .chalice/config.json from its stack (for `chalice deploy`)
chalice-config: $(STAMP)
	$(PY) -m infra.stage_config --stage $(STAGE)

## bench-quality: known-item recall@10 and MRR per kind of query, beside a reference engine (tantivy, if installed)
bench-quality: $(STAMP)
	$(PY) -m bench.search_quality $(BENCH_ARGS)
