#!/usr/bin/env bash
# All-in-one bridge on one machine: RabbitMQ, the embedded SQLite storage,
# no authentication. For trying bridge out and for demos, not production.
#
#   tools/quickstart.sh [start]   install what is missing, then start
#                                 bridge-api, bridge-listener, bridge-notifier
#   tools/quickstart.sh stop      stop them (SIGTERM, then SIGKILL after 30 s)
#   tools/quickstart.sh status    say what runs
#
# "start" on a fresh Debian 12 machine (as root, or with the packages
# already there) installs python3, python3-venv, curl and rabbitmq-server
# with apt-get when missing, starts RabbitMQ when nothing answers on 5672,
# creates .venv and installs bridge into it, writes a configuration, starts
# the three services in the background and prints the API URL. Running it
# again starts only what is not running. Each service logs to
# $STATE/log/NAME.log and its pid is in $STATE/run/NAME.pid.
#
# Environment (all optional):
#   BRIDGE_QUICKSTART_DIR  state: config, SQLite database, logs, pid files
#                          (default ~/.local/state/bridge-quickstart)
#   BRIDGE_API_PORT        API port on 127.0.0.1 (default 8888)
#   BRIDGE_TRANSPORT_URL   RabbitMQ (default rabbit://guest:guest@127.0.0.1:5672/;
#                          RabbitMQ is installed/started only for 127.0.0.1:5672)
#   BRIDGE_LISTENER_POOL   the listener's RabbitMQ queue (default bridge)
#   BRIDGE_VENV            an existing virtualenv with bridge installed, used
#                          as is (default: .venv of this checkout, created and
#                          kept up to date)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${BRIDGE_QUICKSTART_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/bridge-quickstart}
API_PORT=${BRIDGE_API_PORT:-8888}
TRANSPORT_URL=${BRIDGE_TRANSPORT_URL:-rabbit://guest:guest@127.0.0.1:5672/}
POOL=${BRIDGE_LISTENER_POOL:-bridge}
SERVICES=(bridge-api bridge-listener bridge-notifier)
STOP_TIMEOUT=30
START_TIMEOUT=90

say() { echo "quickstart: $*"; }
die() { echo "quickstart: FAILED: $*" >&2; exit 1; }
redact() { sed -E 's#(//[^/:@]*:)[^/@]*@#\1***@#' <<<"$1"; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# ------------------------------------------------------------ packages
APT_UPDATED=0
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] \
        || die "missing packages: ${missing[*]}; install them (sudo apt-get install ${missing[*]}) or run this as root"
    if [ $APT_UPDATED -eq 0 ]; then
        say "apt-get update"
        apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

local_rabbit() { [[ $TRANSPORT_URL =~ @(127\.0\.0\.1|localhost)(:5672)?/ ]]; }

ensure_rabbitmq() {
    local_rabbit || { say "using RabbitMQ at $(redact "$TRANSPORT_URL")"; return 0; }
    port_open 5672 && return 0
    command -v rabbitmq-server >/dev/null 2>&1 || ensure_packages rabbitmq-server
    if ! port_open 5672; then
        [ "$(id -u)" -eq 0 ] || die "RabbitMQ is not running on 127.0.0.1:5672; start it (sudo rabbitmq-server -detached) and retry"
        say "starting rabbitmq-server"
        rabbitmq-server -detached || die "'rabbitmq-server -detached' failed; see /var/log/rabbitmq/"
    fi
    local deadline=$((SECONDS + 120))
    until port_open 5672 && timeout 15 rabbitmqctl await_startup --timeout 10 >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "RabbitMQ does not answer on 127.0.0.1:5672 after 120 s; see /var/log/rabbitmq/"
        sleep 1
    done
}

# ---------------------------------------------------------- virtualenv
ensure_venv() {
    if [ -n "${BRIDGE_VENV:-}" ]; then
        VENV=$BRIDGE_VENV
        [ -x "$VENV/bin/bridge-api" ] || die "BRIDGE_VENV=$VENV has no bridge-api; install bridge there first"
        return 0
    fi
    VENV=$REPO/.venv
    # Same stamp as tools/run.sh: either script's install satisfies both.
    local stamp=$VENV/.bridge-run-stamp want
    want=$(cat "$REPO/requirements.txt" "$REPO/setup.cfg" | sha256sum | cut -d' ' -f1)
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV" || die "cannot create $VENV"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/bridge-listener" ]; then
        say "installing bridge into $VENV (a few minutes the first time)"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REPO/requirements.txt" \
            || die "pip install -r requirements.txt failed"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$REPO" \
            || die "pip install -e $REPO failed"
        echo "$want" >"$stamp"
    fi
}

# ------------------------------------------------------------ services
write_config() {
    mkdir -p "$STATE/log" "$STATE/run" "$STATE/bridge.conf.d"
    cat >"$STATE/bridge.conf" <<EOF
# Written by tools/quickstart.sh on each start; put your own settings in
# $STATE/bridge.conf.d/*.conf (read after this file).
[DEFAULT]
state_path = $STATE
auth_strategy = noauth
transport_url = $TRANSPORT_URL

[api]
bind_host = 127.0.0.1
bind_port = $API_PORT

[listener]
pool = $POOL

[notifier]
# Lets webhooks on this machine (e.g. http://127.0.0.1:9000/) subscribe;
# loopback targets are refused by default.
allowed_subscriber_hosts = 127.0.0.1
EOF
}

pid_of() { cat "$STATE/run/$1.pid" 2>/dev/null || true; }

# running NAME: its pid file names a live process that is that service.
running() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$1"
}

start_one() {
    local name=$1
    if running "$name"; then
        say "$name already running (pid $(pid_of "$name"))"
        return 0
    fi
    # setsid: its own process group, so stop reaches its workers too.
    setsid "$VENV/bin/$name" --config-file "$STATE/bridge.conf" \
        --config-dir "$STATE/bridge.conf.d" >>"$STATE/log/$name.log" 2>&1 </dev/null &
    echo $! >"$STATE/run/$name.pid"
}

# wait_ready NAME CHECK...: until CHECK succeeds while NAME runs.
wait_ready() {
    local name=$1; shift
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$@"; do
        running "$name" || { tail -n 30 "$STATE/log/$name.log" >&2; return 1; }
        [ $SECONDS -lt $deadline ] || { tail -n 30 "$STATE/log/$name.log" >&2; return 1; }
        sleep 0.5
    done
}

api_answers() { "$VENV/bin/python" -c "
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen('http://127.0.0.1:$API_PORT/', timeout=2)
except urllib.error.HTTPError as exc:
    sys.exit(exc.code != 300)
except OSError:
    sys.exit(1)" 2>/dev/null; }
logged() { grep -q "$2" "$STATE/log/$1.log" 2>/dev/null; }

start() {
    ensure_packages python3 python3-venv curl
    ensure_rabbitmq
    ensure_venv
    if ! running bridge-api && port_open "$API_PORT"; then
        die "port $API_PORT is in use; set BRIDGE_API_PORT to a free port"
    fi
    write_config
    local name
    for name in "${SERVICES[@]}"; do
        if [ "$name" = bridge-notifier ] && [ ! -x "$VENV/bin/$name" ]; then
            say "bridge-notifier is not installed; skipping it"
            continue
        fi
        start_one "$name"
    done
    wait_ready bridge-api api_answers || { stop; die "bridge-api did not start (log above)"; }
    wait_ready bridge-listener logged bridge-listener 'Listening on' \
        || { stop; die "bridge-listener did not start (log above)"; }
    if [ -x "$VENV/bin/bridge-notifier" ]; then
        wait_ready bridge-notifier logged bridge-notifier 'delivering' \
            || { stop; die "bridge-notifier did not start (log above)"; }
    fi
    cat <<EOF

bridge is running (noauth, SQLite, state in $STATE):
  API       http://127.0.0.1:$API_PORT   (send X-Project-Id: <project> and Client-ID: <uuid>)
  listener  pool "$POOL" on $(redact "$TRANSPORT_URL")
  logs      $STATE/log/
  config    $STATE/bridge.conf

Publish demo events:  $VENV/bin/bridge-demo --transport-url $TRANSPORT_URL --project demo --api-url http://127.0.0.1:$API_PORT
Stop everything:      $REPO/tools/quickstart.sh stop
EOF
}

stop() {
    local name pid pids=()
    for name in "${SERVICES[@]}"; do
        if running "$name"; then
            pid=$(pid_of "$name")
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            say "stopping $name (pid $pid)"
        fi
    done
    local deadline=$((SECONDS + STOP_TIMEOUT))
    for pid in "${pids[@]}"; do
        while kill -0 -- "-$pid" 2>/dev/null; do
            if [ $SECONDS -ge $deadline ]; then
                say "process group $pid ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
                kill -KILL -- "-$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    done
    rm -f "$STATE"/run/*.pid
    say "stopped"
}

status() {
    local name rc=0
    for name in "${SERVICES[@]}"; do
        if running "$name"; then
            printf '%-16s running (pid %s)\n' "$name" "$(pid_of "$name")"
        else
            printf '%-16s stopped\n' "$name"
            rc=3
        fi
    done
    return $rc
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
