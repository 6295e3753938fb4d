# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK ?= requirements-dev.lock
# checkov (template security checks) has a virtualenv of its own: it pins an older boto3.
CHECKOV := $(VENV)/checkov
# collectstatic, mypy and checks import the settings; give them a harmless environment.
BUILD_ENV := DJANGO_SETTINGS_MODULE=tests.settings

.PHONY: install messages run test lint typecheck system-deps checkov bench soak screenshots audit clean
.DEFAULT_GOAL := run

install: $(VENV)/.installed staticfiles/staticfiles.json messages

messages: $(VENV)/.installed
	@$(BIN)/python scripts/compilemessages.py

# uv (itself hash-pinned) installs the hash-pinned lock in seconds, where pip takes minutes.
$(VENV)/.installed: $(LOCK) requirements-uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r $(LOCK)
	@touch $@

checkov: $(CHECKOV)/.installed

$(CHECKOV)/.installed: requirements-checkov.lock $(VENV)/.installed
	@test -x $(CHECKOV)/bin/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(CHECKOV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV)/bin/python --require-hashes -r requirements-checkov.lock
	@touch $@

staticfiles/staticfiles.json: $(VENV)/.installed $(shell find static -type f 2>/dev/null)
	$(BUILD_ENV) $(BIN)/python manage.py collectstatic --noinput --clear --verbosity 0

run: install
	@if [ -n "$$COGNITO_CLIENT_ID" ]; then \
	  BIND=$${BIND:-127.0.0.1:8000} $(BIN)/gunicorn -c gunicorn.conf.py resetsite.wsgi:application; \
	else \
	  $(BIN)/python scripts/demo.py; \
	fi

system-deps:
	@bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BUILD_ENV) $(BIN)/mypy .

# Three processes on two cores, a test file each at a time: most tests wait on real
# servers and browsers (6 min here, against 6 min 40 s with two).
test: install system-deps checkov lint typecheck
	$(BIN)/pytest -n 3 --dist loadfile

# Benchmarks and the soak test drive load with wrk (Debian package wrk).
bench: install
	@bash scripts/system-deps.sh wrk
	$(BIN)/python scripts/bench.py $(ARGS)

soak: install
	@bash scripts/system-deps.sh wrk
	$(BIN)/python scripts/soak.py $(ARGS)

# The pictures need fonts for every script of the language list, and pngquant.
screenshots: install
	@bash scripts/system-deps.sh fonts pngquant
	$(BIN)/python scripts/screenshots.py $(ARGS)

audit: install
	$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) staticfiles .demo
