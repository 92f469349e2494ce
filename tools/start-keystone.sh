#!/usr/bin/env bash
# Start a real Keystone (PyPI "keystone") for the keystone-mode tests, unless
# one already answers on its port. Idempotent: installs when absent,
# initialises its state once, starts it when down, fails loudly.
#
#   Keystone    http://127.0.0.1:35357/v3   user admin, project admin,
#               password $BRIDGE_KEYSTONE_ADMIN_PASSWORD, region RegionOne
#
# Keystone lives in its own virtualenv under .services/keystone (its many
# pinned dependencies never meet bridge's), runs under gunicorn (also in that
# virtualenv) and keeps its state under .services/keystone-state: an SQLite
# database, the fernet and credential key repositories, keystone.conf,
# gunicorn.conf.py and the log. Tokens are fernet tokens; the admin user,
# project, roles (admin, member, reader, service) and the identity endpoint
# come from "keystone-manage bootstrap". Tests add their own projects, users,
# services and endpoints through the API.
#
# Environment:
#   BRIDGE_KEYSTONE_PORT            port to listen on (default 35357)
#   BRIDGE_KEYSTONE_ADMIN_PASSWORD  admin's password (default bridge-test-admin)
#   KEYSTONE_VERSION                pip requirement (default keystone==30.*)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=127.0.0.1
PORT=${BRIDGE_KEYSTONE_PORT:-35357}
ADMIN_PASSWORD=${BRIDGE_KEYSTONE_ADMIN_PASSWORD:-bridge-test-admin}
REQUIREMENT=${KEYSTONE_VERSION:-keystone==30.*}
SERVICES=$REPO/.services
VENV=$SERVICES/keystone
STATE=$SERVICES/keystone-state$([ "$PORT" = 35357 ] || echo "-$PORT")
CONF=$STATE/keystone.conf
LOG=$STATE/keystone.log
PIDFILE=$STATE/keystone.pid
URL=http://$HOST:$PORT
WAIT_SECONDS=60

die() { echo "start-keystone: $*" >&2; exit 1; }

# answers: true when GET /v3 answers 200 with an identity version document.
answers() {
    python3 - "$URL/v3" <<'PY' >/dev/null 2>&1
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as resp:
    assert resp.status == 200
    assert json.load(resp)['version']['id'].startswith('v3')
PY
}

port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null; }

if port_in_use; then
    answers && { echo "start-keystone: Keystone already answers on $URL/v3"; exit 0; }
    die "port $HOST:$PORT is taken by something that is not Keystone (GET /v3 fails); free it or set BRIDGE_KEYSTONE_PORT"
fi

# ------------------------------------------------------------- install
mkdir -p "$SERVICES"
if [ ! -x "$VENV/bin/keystone-manage" ] || [ ! -x "$VENV/bin/gunicorn" ]; then
    echo "start-keystone: installing $REQUIREMENT and gunicorn into $VENV"
    python3 -m venv "$VENV" || die "cannot create a virtualenv (is python3-venv installed?)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQUIREMENT" gunicorn \
        >>"$SERVICES/keystone-install.log" 2>&1 \
        || { tail -n 20 "$SERVICES/keystone-install.log" >&2
             die "pip install $REQUIREMENT gunicorn failed; see $SERVICES/keystone-install.log"; }
fi

# ---------------------------------------------------------- initialise
mkdir -p "$STATE"
cat >"$CONF" <<EOF
[DEFAULT]
log_file = $LOG
[database]
connection = sqlite:///$STATE/keystone.db
[identity]
# The cheapest bcrypt cost: users are created and log in throughout the
# tests, and these passwords protect nothing.
password_hash_rounds = 4
[token]
provider = fernet
[fernet_tokens]
key_repository = $STATE/fernet-keys
[credential]
key_repository = $STATE/credential-keys
EOF
# Keystone's WSGI application reads its configuration from here, and parses
# sys.argv: gunicorn takes its settings from this file, never from flags.
cat >"$STATE/gunicorn.conf.py" <<EOF
wsgi_app = 'keystone.wsgi.api:application'
bind = '$HOST:$PORT'
workers = 1
threads = 4
timeout = 60
raw_env = ['OS_KEYSTONE_CONFIG_DIR=$STATE']
control_socket_disable = True
EOF

manage() { "$VENV/bin/keystone-manage" --config-file "$CONF" "$@" >>"$LOG" 2>&1; }
owner=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")
if [ ! -f "$STATE/bootstrapped" ]; then
    echo "start-keystone: initialising $STATE (database, fernet keys, bootstrap)"
    [ -d "$STATE/fernet-keys" ] || manage fernet_setup "${owner[@]}" \
        || die "keystone-manage fernet_setup failed; see $LOG"
    [ -d "$STATE/credential-keys" ] || manage credential_setup "${owner[@]}" \
        || die "keystone-manage credential_setup failed; see $LOG"
    manage db_sync || die "keystone-manage db_sync failed; see $LOG"
    manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-service-name keystone \
        --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$URL/v3" --bootstrap-public-url "$URL/v3" \
        --bootstrap-internal-url "$URL/v3" \
        || die "keystone-manage bootstrap failed; see $LOG"
    touch "$STATE/bootstrapped"
fi

# --------------------------------------------------------------- start
echo "start-keystone: starting Keystone under gunicorn on $URL (log: $LOG)"
(cd "$STATE" || exit 1
 OS_KEYSTONE_CONFIG_DIR=$STATE nohup "$VENV/bin/gunicorn" >>"$LOG" 2>&1 </dev/null &
 echo $! >"$PIDFILE")

deadline=$((SECONDS + WAIT_SECONDS))
while [ $SECONDS -lt $deadline ]; do
    if answers; then
        echo "start-keystone: ready on $URL/v3 (pid $(cat "$PIDFILE"))"
        exit 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        tail -n 20 "$LOG" >&2 || true
        die "gunicorn (Keystone) exited during start-up; see $LOG"
    fi
    sleep 0.5
done
tail -n 20 "$LOG" >&2 || true
die "Keystone did not answer GET $URL/v3 within ${WAIT_SECONDS}s; see $LOG"
