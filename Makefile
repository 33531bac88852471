# The two commands: `make demo` sets up this machine and runs the pipeline; `make test` runs every test.
.PHONY: bootstrap demo test unit stack-up stack-down

bootstrap:
	./scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/loglane demo

# Java unit tests of connect-plugin/, then Python unit and integration tests. The pytest session
# starts the local stack itself (tests/conftest.py) and stops what it started.
test: bootstrap
	mvn --batch-mode --no-transfer-progress -f connect-plugin/pom.xml test
	.venv/bin/pytest -ra

unit: bootstrap
	.venv/bin/pytest -ra tests/unit

stack-up: bootstrap
	.venv/bin/loglane stack up

stack-down:
	.venv/bin/loglane stack down
