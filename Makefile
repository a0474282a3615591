# cellmeet — every target sets itself up on a fresh machine and is safe to run twice.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell python3 -c "import hashlib,sys;print(hashlib.sha256(open('pyproject.toml','rb').read()).hexdigest()[:12])")
# Two workers (the machine's two cores), one test module per worker at a time: module-scoped fixtures
# such as the authorisation matrix's world stay whole, and the fast suite halves (docs/performance.md).
PYTEST_FAST := -m "not slow" -n 2 --dist loadfile --no-loadscope-reorder --durations=30
# Browser modules served from web/static/vendor (never from a CDN), re-copied when the lock file changes.
VENDOR := web/static/vendor
WEB_STAMP := $(VENDOR)/.installed-$(shell python3 -c "import hashlib,sys;print(hashlib.sha256(open('web/package-lock.json','rb').read()).hexdigest()[:12])")
SIO_DIST := web/node_modules/socket.io-client/dist

.PHONY: setup run test test-slow lint bench browser clean

setup: $(STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: apt-get install nodejs npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp $(SIO_DIST)/socket.io.esm.min.js $(SIO_DIST)/socket.io.esm.min.js.map $(VENDOR)/
	rm -f $(VENDOR)/.installed-*
	touch $(WEB_STAMP)

# The browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Install Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

run: setup
	$(BIN)/cellmeet serve --demo

test: setup browser
	$(BIN)/pytest $(PYTEST_FAST)

test-slow: setup browser
	$(BIN)/pytest -m slow

# quality.md's rows (issue 28): every test marked `reliability`, fast and slow tiers, then
# docs/reliability.md generated from the results they wrote (var/reliability/). Fails when a row that
# ran has failures, or a row has no result and no reason.
.PHONY: test-reliability
test-reliability: setup browser
	rm -rf var/reliability
	$(BIN)/pytest -m reliability -n 2 --dist loadfile; status=$$?; \
	  $(BIN)/python -m tests.reliability_report --check && exit $$status

# The load benchmark (docs/performance.md): 500 members in 50 meetings; JSON on stdout and in var/bench.json.
# SQLite first, then the same on a scratch database of this PostgreSQL server (reported beside it).
BENCH_POSTGRESQL ?= postgresql://postgres@127.0.0.1:5432/
bench: setup
	mkdir -p var
	$(BIN)/cellmeet bench --members 500 --meetings 50 --also-postgresql $(BENCH_POSTGRESQL) --out var/bench.json

# The audit verification benchmark (docs/performance.md): `cellmeet audit verify` over 100,000 entries.
.PHONY: bench-audit bench-sfu
bench-audit: setup
	mkdir -p var
	$(BIN)/cellmeet bench audit --entries 100000 --out var/bench-audit.json

# The SFU bench (issue 27): a real Janus in a network namespace, so root only.
bench-sfu: setup
	mkdir -p var
	$(BIN)/cellmeet bench --sfu --members 50 --out var/bench-sfu.json

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules $(VENDOR)
