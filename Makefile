# The two commands: `make demo` runs the whole system, `make test` runs every test.
.PHONY: demo test lint system venv clean

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint: venv
	.venv/bin/ruff check . && .venv/bin/mypy backend ingest dashboard migrations benchmarks

system:
	bash scripts/ensure-system.sh

venv:
	bash scripts/ensure-venv.sh

clean:
	-.venv/bin/yunjian db stop
	rm -rf .venv build *.egg-info test-output
