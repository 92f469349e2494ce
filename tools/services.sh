#!/usr/bin/env bash
# Make the services bridge's tests talk to exist and answer, on a fresh
# Debian 12 machine or on one where they already run.
#
#   RabbitMQ    127.0.0.1:5672  guest/guest, vhost bridge_test
#   PostgreSQL  127.0.0.1:5432  user postgres (trust, or password "postgres"),
#                               database bridge_test
#   MariaDB     127.0.0.1:3306  user root without password over TCP,
#                               database bridge_test
#   SecantusDB  127.0.0.1:27018 MongoDB-wire test server (tools/start-secantusdb.sh)
#   Keystone    127.0.0.1:35357 PyPI keystone in .services/keystone, SQLite,
#                               fernet tokens, admin/bridge-test-admin
#                               (tools/start-keystone.sh)
#
# The rabbitmq-server package is installed in every case: the broker-restart
# test (tests/listeners/test_broker_restart.py) starts and restarts a private
# RabbitMQ node of its own from it, on free ports, never the one on 5672.
#
# Idempotent: a second run only checks. Missing Debian packages are installed
# (needs root; "apt-get update" runs once, and only when something is
# missing). Every wait is bounded; when a service cannot be made to answer the
# script stops with a non-zero exit and says which one and why.
#
# A service whose BRIDGE_TEST_*_URL variable is already set is treated as
# external and left alone (BRIDGE_TEST_RABBIT_URL, BRIDGE_TEST_POSTGRESQL_URL,
# BRIDGE_TEST_MYSQL_URL, BRIDGE_TEST_MONGODB_URL, BRIDGE_TEST_KEYSTONE_URL).
#
# What this changes on a machine where the defaults do not already work:
# PostgreSQL's "postgres" role gets the password "postgres" (only when a
# TCP login as postgres fails), and MariaDB's root may log in over TCP
# without password (only when it cannot: a 'root'@'127.0.0.1' account is
# added, and if that is not enough 'root'@'localhost' also accepts an empty
# password). It is meant for development and CI machines, not for hosts
# running real databases.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=127.0.0.1
TEST_DB=bridge_test
RABBIT_VHOST=bridge_test
PG_PASSWORD=postgres

die() { echo "services: FAILED: $*" >&2; exit 1; }
status() { printf 'services: %-11s %s\n' "$1" "$2"; }

# port_open PORT: true when something accepts a TCP connection on HOST:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# wait_for SECONDS COMMAND...: retry COMMAND every half second, at most SECONDS.
wait_for() {
    local seconds=$1; shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

APT_UPDATED=0
# ensure_packages PKG...: install the Debian packages that are missing.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}); run this script as root to install them"
    if [ $APT_UPDATED -eq 0 ]; then
        echo "services: apt-get update"
        apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    echo "services: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# ---------------------------------------------------------------- RabbitMQ
rabbit_ready() { port_open 5672 && timeout 15 rabbitmqctl await_startup --timeout 10; }

ensure_rabbitmq() {
    ensure_packages rabbitmq-server
    if [ -n "${BRIDGE_TEST_RABBIT_URL:-}" ]; then
        status rabbitmq "external (BRIDGE_TEST_RABBIT_URL is set), not managed"; return
    fi
    local started=""
    if ! port_open 5672; then
        echo "services: starting rabbitmq-server"
        rabbitmq-server -detached || die "rabbitmq: 'rabbitmq-server -detached' failed; see /var/log/rabbitmq/"
        started=" (started)"
    fi
    wait_for 120 rabbit_ready \
        || die "rabbitmq: nothing answers on $HOST:5672 after 120s; see /var/log/rabbitmq/"
    if ! rabbitmqctl list_vhosts --silent | grep -qx "$RABBIT_VHOST"; then
        rabbitmqctl add_vhost "$RABBIT_VHOST" >/dev/null || die "rabbitmq: cannot add vhost $RABBIT_VHOST"
    fi
    if ! rabbitmqctl list_permissions --vhost "$RABBIT_VHOST" --silent | grep -q '^guest[[:space:]]'; then
        rabbitmqctl set_permissions --vhost "$RABBIT_VHOST" guest '.*' '.*' '.*' >/dev/null \
            || die "rabbitmq: cannot give guest permissions on vhost $RABBIT_VHOST"
    fi
    status rabbitmq "ok on $HOST:5672, vhost $RABBIT_VHOST$started"
}

# -------------------------------------------------------------- PostgreSQL
pg_tcp() { PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -h "$HOST" -p 5432 -U postgres -w -X -Atq "$@"; }
pg_socket() { (cd / && timeout 20 su postgres -s /bin/sh -c "psql -X -Atq $(printf '%q ' "$@")"); }

ensure_postgresql() {
    if [ -n "${BRIDGE_TEST_POSTGRESQL_URL:-}" ]; then
        status postgresql "external (BRIDGE_TEST_POSTGRESQL_URL is set), not managed"; return
    fi
    ensure_packages postgresql
    local version started=""
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || die "postgresql: no cluster under /etc/postgresql (try: pg_createcluster 15 main)"
    if ! port_open 5432; then
        echo "services: starting postgresql $version/main"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            || die "postgresql: pg_ctlcluster $version main start failed; see /var/log/postgresql/"
        started=" (started)"
    fi
    wait_for 60 pg_isready -q -h "$HOST" -p 5432 -t 2 \
        || die "postgresql: not ready on $HOST:5432 after 60s; see /var/log/postgresql/"
    if ! pg_tcp -c 'select 1' >/dev/null 2>&1; then
        echo "services: postgresql: TCP login as postgres fails; setting its password to '$PG_PASSWORD'"
        pg_socket -c "ALTER ROLE postgres PASSWORD '$PG_PASSWORD'" >/dev/null \
            || die "postgresql: cannot set the postgres password over the local socket"
        pg_tcp -c 'select 1' >/dev/null \
            || die "postgresql: TCP login as postgres still fails; check pg_hba.conf allows 127.0.0.1 (trust or scram-sha-256)"
    fi
    if [ "$(pg_tcp -c "select 1 from pg_database where datname = '$TEST_DB'")" != 1 ]; then
        pg_tcp -c "CREATE DATABASE $TEST_DB" >/dev/null || die "postgresql: cannot create database $TEST_DB"
    fi
    status postgresql "ok on $HOST:5432, database $TEST_DB$started"
}

# ----------------------------------------------------------------- MariaDB
my_tcp() { mysql --protocol=tcp -h "$HOST" -P 3306 -u root --connect-timeout=5 -N -B "$@"; }
my_socket() { mysql --protocol=socket -u root --connect-timeout=5 -N -B "$@"; }

ensure_mariadb() {
    if [ -n "${BRIDGE_TEST_MYSQL_URL:-}" ]; then
        status mariadb "external (BRIDGE_TEST_MYSQL_URL is set), not managed"; return
    fi
    ensure_packages mariadb-server
    local started=""
    if ! port_open 3306; then
        install -d -o mysql -g mysql -m 0755 /run/mysqld
        if [ ! -d /var/lib/mysql/mysql ]; then
            echo "services: initialising the MariaDB data directory"
            mysql_install_db --user=mysql --datadir=/var/lib/mysql >/dev/null \
                || die "mariadb: mysql_install_db failed"
        fi
        echo "services: starting mariadbd"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql \
            || die "mariadb: start-stop-daemon could not start /usr/sbin/mariadbd"
        started=" (started)"
    fi
    wait_for 60 port_open 3306 \
        || die "mariadb: nothing answers on $HOST:3306 after 60s; see /var/log/mysql/ or journal"
    if ! my_tcp -e 'select 1' >/dev/null 2>&1; then
        echo "services: mariadb: TCP login as root fails; adding 'root'@'127.0.0.1' without password"
        my_socket -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
                      FLUSH PRIVILEGES;" \
            || die "mariadb: cannot add 'root'@'127.0.0.1' over the local socket"
    fi
    if ! my_tcp -e 'select 1' >/dev/null 2>&1; then
        # Without skip-name-resolve a loopback client is also 'localhost',
        # and Debian's root@localhost accepts only unix_socket.
        echo "services: mariadb: letting 'root'@'localhost' also log in without password"
        my_socket -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket
                      OR mysql_native_password USING PASSWORD('');" \
            || die "mariadb: cannot change 'root'@'localhost' over the local socket"
        my_tcp -e 'select 1' >/dev/null \
            || die "mariadb: TCP login as root without password still fails"
    fi
    my_tcp -e "CREATE DATABASE IF NOT EXISTS $TEST_DB CHARACTER SET utf8mb4" \
        || die "mariadb: cannot create database $TEST_DB"
    status mariadb "ok on $HOST:3306, database $TEST_DB$started"
}

# -------------------------------------------------------------- SecantusDB
ensure_mongodb() {
    if [ -n "${BRIDGE_TEST_MONGODB_URL:-}" ]; then
        status mongodb "external (BRIDGE_TEST_MONGODB_URL is set), not managed"; return
    fi
    ensure_packages python3-venv
    [ -x "$REPO/tools/start-secantusdb.sh" ] || [ -f "$REPO/tools/start-secantusdb.sh" ] \
        || die "mongodb: tools/start-secantusdb.sh is missing"
    local out
    out=$(bash "$REPO/tools/start-secantusdb.sh" 2>&1) \
        || { echo "$out" >&2; die "mongodb: tools/start-secantusdb.sh failed"; }
    status mongodb "ok on $HOST:${BRIDGE_MONGODB_PORT:-27018} (SecantusDB)"
}

# ---------------------------------------------------------------- Keystone
ensure_keystone() {
    if [ -n "${BRIDGE_TEST_KEYSTONE_URL:-}" ]; then
        status keystone "external (BRIDGE_TEST_KEYSTONE_URL is set), not managed"; return
    fi
    local out started=$SECONDS
    out=$(bash "$REPO/tools/start-keystone.sh" 2>&1) \
        || { echo "$out" >&2; die "keystone: tools/start-keystone.sh failed"; }
    status keystone "ok on $HOST:${BRIDGE_KEYSTONE_PORT:-35357} ($((SECONDS - started))s: ${out##*start-keystone: })"
}

# wrk: the HTTP load generator bridge-bench api drives (tests/bench runs it
# for a second against the no-op app).
ensure_packages python3-venv wrk shellcheck
ensure_rabbitmq
ensure_postgresql
ensure_mariadb
ensure_mongodb
ensure_keystone
