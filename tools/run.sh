#!/usr/bin/env bash
# Install bridge into .venv (when missing or out of date) and run bridge-api.
#
#   tools/run.sh [bridge-api ARGS...]   e.g. tools/run.sh --bind-port 9000
#
# With no arguments bridge-api serves http://127.0.0.1:8888 with noauth and
# an embedded SQLite database under [DEFAULT] state_path
# (~/.local/state/bridge): nothing else to install or configure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

die() { echo "run.sh: $*" >&2; exit 1; }

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    [ "$(id -u)" -eq 0 ] || die "python3-venv is missing; install it (apt-get install python3-venv) and retry"
    echo "run.sh: installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
        || die "apt-get install python3-venv failed"
fi

VENV=$REPO/.venv
STAMP=$VENV/.bridge-run-stamp
want=$(cat requirements.txt setup.cfg | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
    echo "run.sh: creating $VENV"
    python3 -m venv "$VENV" || die "cannot create $VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/bridge-api" ]; then
    echo "run.sh: installing bridge into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt \
        || die "pip install -r requirements.txt failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e . || die "pip install -e . failed"
    echo "$want" >"$STAMP"
fi

exec "$VENV/bin/bridge-api" "$@"
