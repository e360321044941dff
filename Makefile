# The two commands (README): `make run` serves, `make test` runs every test. Both set up
# everything they need first (Debian packages, the PostgreSQL cluster under .data/, migrations).
.PHONY: run test stop bench bench-scale setup admin-key
SHELL := /bin/bash

run:
	@scripts/run.sh

test:
	@scripts/test.sh

stop:
	@scripts/stop.sh

bench:
	@scripts/bench.sh

bench-scale:
	@scripts/bench/scale.sh

setup:
	@scripts/setup.sh jarvis

admin-key:
	@scripts/admin-key.sh
