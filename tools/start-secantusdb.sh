#!/usr/bin/env bash
# Start SecantusDB, the MongoDB-wire server the MongoDB contract tests run
# against, unless something already listens on its port. Idempotent.
#
# SecantusDB is GPL-2.0: it lives in its own virtualenv under .services/,
# runs as a separate process, and is never imported by bridge nor listed in
# its requirements. A real mongod works just as well: point
# BRIDGE_TEST_MONGODB_URL at it and skip this script.
#
# Environment:
#   BRIDGE_MONGODB_PORT   port to listen on (default 27018)
#   SECANTUSDB_VERSION    package version (default 0.7.0b3)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${BRIDGE_MONGODB_PORT:-27018}
HOST=127.0.0.1
VERSION=${SECANTUSDB_VERSION:-0.7.0b3}
SERVICES=$REPO/.services
VENV=$SERVICES/secantusdb
# One log and pid file per port; the default port keeps the plain names.
SUFFIX=$([ "$PORT" = 27018 ] || echo "-$PORT")
LOG=$SERVICES/secantusdb$SUFFIX.log
PIDFILE=$SERVICES/secantusdb$SUFFIX.pid
WAIT_SECONDS=30

die() { echo "start-secantusdb: $*" >&2; exit 1; }

# ping HOST PORT: true when a MongoDB-wire server answers {ping: 1}.
ping_server() {
    "$VENV/bin/python" - "$HOST" "$PORT" <<'PY' >/dev/null 2>&1
import sys
import pymongo
client = pymongo.MongoClient(sys.argv[1], int(sys.argv[2]),
                             directConnection=True,
                             serverSelectionTimeoutMS=1000,
                             connectTimeoutMS=1000, socketTimeoutMS=2000)
client.admin.command('ping')
PY
}

port_in_use() {
    "$VENV/bin/python" - "$HOST" "$PORT" <<'PY' >/dev/null 2>&1
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1):
    pass
PY
}

mkdir -p "$SERVICES"
if [ ! -x "$VENV/bin/secantusd-py" ]; then
    echo "start-secantusdb: installing secantusdb==$VERSION into $VENV"
    python3 -m venv "$VENV" || die "cannot create a virtualenv (is python3-venv installed?)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "secantusdb==$VERSION" || die "pip install secantusdb==$VERSION failed"
fi
# pymongo for the readiness ping; secantusdb depends on it, but be explicit.
"$VENV/bin/python" -c 'import pymongo' 2>/dev/null \
    || "$VENV/bin/pip" install --quiet --disable-pip-version-check pymongo \
    || die "pip install pymongo failed"

if port_in_use; then
    if ping_server; then
        echo "start-secantusdb: a MongoDB-wire server already answers on $HOST:$PORT"
        exit 0
    fi
    die "port $HOST:$PORT is taken by something that does not answer a MongoDB ping"
fi

echo "start-secantusdb: starting secantusd-py on $HOST:$PORT (log: $LOG)"
nohup "$VENV/bin/secantusd-py" --host "$HOST" --port "$PORT" \
    --storage-path :memory: >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"

deadline=$((SECONDS + WAIT_SECONDS))
while [ $SECONDS -lt $deadline ]; do
    if ping_server; then
        echo "start-secantusdb: ready on $HOST:$PORT (pid $(cat "$PIDFILE"))"
        exit 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        tail -n 20 "$LOG" >&2 || true
        die "secantusd-py exited during start-up; see $LOG"
    fi
    sleep 0.5
done
tail -n 20 "$LOG" >&2 || true
die "secantusd-py did not answer a ping on $HOST:$PORT within ${WAIT_SECONDS}s; see $LOG"
