# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step
# of those or an operator's tool. Every target bootstraps first (idempotent, seconds when done).
SHELL := /bin/bash
WITH_ENV := scripts/with-env.sh

.PHONY: bootstrap demo test test-py312 run lock bench-dag-import bench-dbt bench-enrichment bench-startup bench-load bench-publish bench-night dbt-docs package clean-local

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	@scripts/demo.sh

test: bootstrap
	@$(WITH_ENV) bash -c 'export SCHEMA_PREFIX=$${TEST_SCHEMA_PREFIX:-test_} && pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected" >&2; exit $$rc'

# The tests that matter to MWAA's Python, on 3.12 with its own venvs (README: "The Python 3.12 lane").
# PYTEST_ARGS, when given, replaces the list.
PY312_TESTS := tests/dags tests/unit tests/integration/ingest/test_loader.py \
	tests/integration/ingest/test_publisher.py tests/integration/test_daily_e2e.py tests/integration/mwaa/test_startup.py
test-py312:
	@scripts/bootstrap.sh --py312
	@TOKYOBETA_PYTHON_LANE=3.12 $(WITH_ENV) bash -c 'export SCHEMA_PREFIX=$${TEST_SCHEMA_PREFIX:-test_} && pytest $(or $(PYTEST_ARGS),$(PY312_TESTS)); rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected" >&2; exit $$rc'

run: bootstrap
	@test -n "$(DATE)" || { echo "usage: make run DATE=YYYY-MM-DD" >&2; exit 2; }
	@scripts/run-day.sh "$(DATE)"

lock:
	@scripts/lock.sh

# The MWAA release bundle dist/tokyobeta-<commit>/ (README: "Deploying to MWAA"); PRIVATE_NETWORK=1:
# the variant that installs without internet (README: "Private-network bundle").
PRIVATE := $(filter 1 true yes,$(PRIVATE_NETWORK))
package: bootstrap
	@$(if $(PRIVATE),scripts/private-wheelhouse.sh && )$(WITH_ENV) tokyobeta package $(if $(PRIVATE),--private-network)

clean-local:
	rm -rf .local include/dbt/target include/dbt/logs

bench-dag-import: bootstrap
	@$(WITH_ENV) python scripts/bench/dag_import_time.py

bench-dbt: bootstrap
	@$(WITH_ENV) python scripts/bench/dbt_incremental.py

dbt-docs: bootstrap
	@$(WITH_ENV) tokyobeta dbt-docs

bench-enrichment: bootstrap
	@$(WITH_ENV) python scripts/bench/enrichment_shares.py --scale $${SCALE:-1} --messy $${MESSY:-0}

bench-startup: bootstrap
	@scripts/private-wheelhouse.sh && $(WITH_ENV) python scripts/bench/startup_time.py

bench-load: bootstrap
	@$(WITH_ENV) python scripts/bench/load_dump.py $(BENCH_ARGS)

bench-publish: bootstrap
	@$(WITH_ENV) python scripts/bench/publish_speed.py $(BENCH_ARGS)

bench-night: bootstrap
	@$(WITH_ENV) python scripts/bench/night.py $(BENCH_ARGS)
