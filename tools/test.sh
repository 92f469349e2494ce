#!/usr/bin/env bash
# The test command: install what the tests need and run them.
#
#   tools/test.sh [PYTEST ARGS...]     e.g. tools/test.sh tests/functional -x
#
# 1. tools/services.sh: RabbitMQ, PostgreSQL, MariaDB, the MongoDB-wire
#    test server and Keystone, installed and started when missing (needs
#    root the first time on a fresh Debian 12 machine).
# 2. .venv: created when missing; requirements.txt, test-requirements.txt and
#    bridge itself (editable) are (re)installed when one of those files or
#    setup.cfg changed since the last install.
# 3. ruff check bridge tests (rules in ruff.toml).
# 4. pytest -q -p no:cacheprovider -rfEs [PYTEST ARGS...] (the summary lists
#    failures, errors and skips).
#
# Environment (defaults point at the services of step 1; a variable that is
# already set names an external service, which step 1 then leaves alone):
#   BRIDGE_TEST_POSTGRESQL_URL  postgresql://postgres:postgres@127.0.0.1:5432/bridge_test
#   BRIDGE_TEST_MYSQL_URL       mysql+pymysql://root@127.0.0.1:3306/bridge_test?charset=utf8mb4
#   BRIDGE_TEST_MONGODB_URL     mongodb://127.0.0.1:27018/bridge_test?directConnection=true
#   BRIDGE_TEST_RABBIT_URL      rabbit://guest:guest@127.0.0.1:5672/bridge_test
#   BRIDGE_TEST_KEYSTONE_URL    http://127.0.0.1:35357 (admin's password in
#                               BRIDGE_TEST_KEYSTONE_ADMIN_PASSWORD)
#   CI=true                     a skipped test fails the run (tests/conftest.py)
#
# Exits non-zero when ruff or pytest fails, and when pytest collects no test.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() { echo "test.sh: $*" >&2; exit 1; }

bash tools/services.sh || die "tools/services.sh could not provide the test services"

# ------------------------------------------------------------ virtualenv
VENV=$REPO/.venv
STAMP=$VENV/.bridge-install-stamp
want=$(cat requirements.txt test-requirements.txt setup.cfg | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
    echo "test.sh: creating $VENV"
    python3 -m venv "$VENV" || die "cannot create $VENV (is python3-venv installed?)"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "test.sh: installing requirements into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        -r requirements.txt -r test-requirements.txt || die "pip install of the requirements failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e . \
        || die "pip install -e . failed"
    echo "$want" >"$STAMP"
fi

# ---------------------------------------------------------- environment
export BRIDGE_TEST_POSTGRESQL_URL=${BRIDGE_TEST_POSTGRESQL_URL:-postgresql://postgres:postgres@127.0.0.1:5432/bridge_test}
export BRIDGE_TEST_MYSQL_URL=${BRIDGE_TEST_MYSQL_URL:-mysql+pymysql://root@127.0.0.1:3306/bridge_test?charset=utf8mb4}
export BRIDGE_TEST_MONGODB_URL=${BRIDGE_TEST_MONGODB_URL:-mongodb://127.0.0.1:27018/bridge_test?directConnection=true}
export BRIDGE_TEST_RABBIT_URL=${BRIDGE_TEST_RABBIT_URL:-rabbit://guest:guest@127.0.0.1:5672/bridge_test}
export BRIDGE_TEST_KEYSTONE_URL=${BRIDGE_TEST_KEYSTONE_URL:-http://127.0.0.1:${BRIDGE_KEYSTONE_PORT:-35357}}
export BRIDGE_TEST_KEYSTONE_ADMIN_PASSWORD=${BRIDGE_TEST_KEYSTONE_ADMIN_PASSWORD:-${BRIDGE_KEYSTONE_ADMIN_PASSWORD:-bridge-test-admin}}
export PATH=$VENV/bin:$PATH

# ----------------------------------------------------------------- lint
lint_rc=0
echo "test.sh: ruff check bridge tests"
"$VENV/bin/ruff" check bridge tests || lint_rc=$?

# ---------------------------------------------------------------- tests
test_rc=0
echo "test.sh: pytest $*"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -rfEs "$@" || test_rc=$?
if [ $test_rc -eq 5 ]; then
    echo "test.sh: FAILED: pytest collected no tests" >&2
fi

if [ $lint_rc -ne 0 ] || [ $test_rc -ne 0 ]; then
    die "FAILED (ruff exit $lint_rc, pytest exit $test_rc)"
fi
echo "test.sh: OK"
