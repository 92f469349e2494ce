#!/bin/bash
#
# devstack/plugin.sh: install, configure and run bridge under devstack.
#
#   [[local|localrc]]
#   enable_plugin bridge https://example.org/bridge.git
#
# Phases (devstack calls "plugin.sh MODE PHASE"):
#   stack install      install_bridge
#   stack post-config  configure_bridge, create_bridge_accounts (Keystone),
#                      configure_bridge_notifications, init_bridge
#   stack extra        start_bridge
#   unstack            stop_bridge
#   clean              cleanup_bridge
#
# Services: bridge-api (its own granian server), bridge-listener,
# bridge-notifier. Settings
# and their defaults are in devstack/settings; see devstack/README.md.

# Save trace setting
_XTRACE_BRIDGE=$(set +o | grep xtrace)
set +o xtrace

BRIDGE_BIN_DIR=$(get_python_exec_prefix)
BRIDGE_SERVICES=(bridge-api bridge-listener bridge-notifier)


# Helpers
# -------

# The bus bridge listens on: where the services' notifications go.
function _bridge_transport_url {
    if [[ "$(type -t get_notification_url)" == function ]]; then
        get_notification_url
    else
        get_transport_url
    fi
}

function _bridge_endpoint_url {
    echo "$BRIDGE_SERVICE_PROTOCOL://$BRIDGE_SERVICE_HOST:$BRIDGE_SERVICE_PORT"
}

# True when storage goes to a database on devstack's database server.
function _bridge_uses_devstack_database {
    [[ -z "$BRIDGE_STORAGE_URL" ]] && is_service_enabled mysql postgresql
}

# [storage] url, or nothing for the embedded SQLite default.
function _bridge_storage_url {
    if [[ -n "$BRIDGE_STORAGE_URL" ]]; then
        echo "$BRIDGE_STORAGE_URL"
    elif _bridge_uses_devstack_database; then
        # bridge stores any JSON: MySQL needs 4-byte UTF-8 on the wire too.
        database_connection_url bridge | sed -E 's/charset=utf8($|&)/charset=utf8mb4\1/'
    fi
}

function _bridge_nova_notification_format {
    if [[ -n "$BRIDGE_NOVA_NOTIFICATION_FORMAT" ]]; then
        echo "$BRIDGE_NOVA_NOTIFICATION_FORMAT"
    elif is_service_enabled ceilometer-anotification ceilometer; then
        echo both
    else
        echo versioned
    fi
}

# _bridge_set FILE SECTION OPTION VALUE: iniset when the value differs;
# then set _BRIDGE_CHANGED=True.
function _bridge_set {
    local file=$1 section=$2 option=$3 value=$4
    if [[ "$(iniget "$file" "$section" "$option")" != "$value" ]]; then
        iniset "$file" "$section" "$option" "$value"
        _BRIDGE_CHANGED=True
    fi
}

# _bridge_notify FILE: the service configured by FILE publishes
# notifications (messagingv2) on bridge's bus.
function _bridge_notify {
    local file=$1
    if [[ -z "$file" ]]; then
        echo "bridge: no configuration file for an enabled service; its notifications stay off" >&2
        return 0
    fi
    _bridge_set "$file" oslo_messaging_notifications driver messagingv2
    _bridge_set "$file" oslo_messaging_notifications transport_url "$(_bridge_transport_url)"
}

# _bridge_rabbit_like_services: bridge's [oslo_messaging_rabbit]
# rabbit_quorum_queue and amqp_durable_queues as the first configured
# service has them. bridge's pool queue is durable whatever they say (a
# quorum queue when rabbit_quorum_queue is on); they decide how bridge
# creates an exchange no service has declared yet, which must be the way
# the services declare it.
function _bridge_rabbit_like_services {
    local file option value
    for file in "$NOVA_CONF" "${CINDER_CONF:-}" "${NEUTRON_CONF:-}" \
            "${GLANCE_API_CONF:-}" "${HEAT_CONF:-}" "${KEYSTONE_CONF:-}"; do
        [[ -n "$file" && -f "$file" ]] || continue
        for option in rabbit_quorum_queue amqp_durable_queues; do
            value=$(iniget "$file" oslo_messaging_rabbit "$option")
            if [[ -n "$value" ]]; then
                iniset "$BRIDGE_CONF" oslo_messaging_rabbit "$option" "$value"
            fi
        done
        return 0
    done
}

# [api] workers/threads when set in local.conf; else bridge-api's defaults.
function _bridge_api_concurrency {
    if [[ -n "$BRIDGE_API_WORKERS" ]]; then
        iniset "$BRIDGE_CONF" api workers "$BRIDGE_API_WORKERS"
    fi
    if [[ -n "$BRIDGE_API_THREADS" ]]; then
        iniset "$BRIDGE_CONF" api threads "$BRIDGE_API_THREADS"
    fi
}

# With Nova's "both" format every instance event comes twice: keep the
# versioned one (the rules file's drop-legacy-nova route).
function _bridge_drop_legacy_nova {
    sed -i '/^  - name: drop-legacy-nova$/,/^  - name:/ s/^    enabled: false$/    enabled: true/' \
        "$BRIDGE_RULES_FILE"
}


# Entry points
# ------------

# install_bridge: bridge from $BRIDGE_DIR (its requirements bring granian,
# the HTTP server bridge-api runs).
function install_bridge {
    setup_develop "$BRIDGE_DIR"
}

# configure_bridge: $BRIDGE_CONF and the rules file.
function configure_bridge {
    sudo install -d -o "$STACK_USER" -m 755 "$BRIDGE_CONF_DIR"
    sudo install -d -o "$STACK_USER" -m 750 "$BRIDGE_STATE_PATH"
    cp "$BRIDGE_DIR/etc/bridge/rules.yaml" "$BRIDGE_RULES_FILE"
    if [[ "$(_bridge_nova_notification_format)" == both ]]; then
        _bridge_drop_legacy_nova
    fi

    rm -f "$BRIDGE_CONF"
    iniset "$BRIDGE_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$BRIDGE_CONF" DEFAULT state_path "$BRIDGE_STATE_PATH"
    iniset "$BRIDGE_CONF" DEFAULT transport_url "$(_bridge_transport_url)"
    local url
    url=$(_bridge_storage_url)
    if [[ -n "$url" ]]; then
        iniset "$BRIDGE_CONF" storage url "$url"
    fi
    iniset "$BRIDGE_CONF" api bind_host "$BRIDGE_SERVICE_LISTEN_ADDRESS"
    iniset "$BRIDGE_CONF" api bind_port "$BRIDGE_SERVICE_PORT"
    _bridge_api_concurrency
    iniset "$BRIDGE_CONF" listener rules_file "$BRIDGE_RULES_FILE"
    iniset "$BRIDGE_CONF" listener workers "$BRIDGE_LISTENER_WORKERS"
    iniset "$BRIDGE_CONF" listener pool_queue_type "$BRIDGE_POOL_QUEUE_TYPE"
    _bridge_rabbit_like_services
    if is_service_enabled key keystone; then
        iniset "$BRIDGE_CONF" DEFAULT auth_strategy keystone
        configure_keystone_authtoken_middleware "$BRIDGE_CONF" bridge
    else
        iniset "$BRIDGE_CONF" DEFAULT auth_strategy noauth
    fi
    setup_logging "$BRIDGE_CONF"
}

# create_bridge_accounts: the service user, the "messaging" service and
# its endpoint (python-zaqarclient and "openstack messaging" find bridge
# there), and the admin project as owner of the dead-letter queue.
function create_bridge_accounts {
    create_service_user "bridge"
    get_or_create_service "bridge" "messaging" "OpenStack notifications for tenants (Zaqar v2 API)" >/dev/null
    get_or_create_endpoint "messaging" "$REGION_NAME" "$(_bridge_endpoint_url)" >/dev/null
    local admin_project
    admin_project=$(get_or_create_project admin default)
    iniset "$BRIDGE_CONF" listener dead_letter_project "$admin_project"
}

# configure_bridge_notifications: make the enabled services publish
# notifications bridge can read. Keystone already runs at post-config, so
# it is restarted when its configuration changed; the others start later.
function configure_bridge_notifications {
    if [[ "$BRIDGE_ENABLE_NOTIFICATIONS" != True ]]; then
        return 0
    fi
    local file
    if is_service_enabled n-api n-cpu n-cond nova; then
        for file in "$NOVA_CONF" "${NOVA_CPU_CONF:-}" "${NOVA_CONF_DIR:-/etc/nova}"/nova_cell*.conf; do
            if [[ -n "$file" && ( -f "$file" || "$file" == "$NOVA_CONF" ) ]]; then
                _bridge_notify "$file"
                _bridge_set "$file" notifications notification_format "$(_bridge_nova_notification_format)"
                _bridge_set "$file" notifications notify_on_state_change vm_and_task_state
            fi
        done
    fi
    if is_service_enabled c-api c-vol c-sch cinder; then
        _bridge_notify "$CINDER_CONF"
    fi
    if is_service_enabled q-svc neutron-api neutron; then
        _bridge_notify "$NEUTRON_CONF"
    fi
    if is_service_enabled g-api glance; then
        _bridge_notify "$GLANCE_API_CONF"
    fi
    if is_service_enabled h-eng heat; then
        _bridge_notify "${HEAT_CONF:-}"
    fi
    if is_service_enabled key keystone; then
        _BRIDGE_CHANGED=False
        _bridge_notify "$KEYSTONE_CONF"
        _bridge_set "$KEYSTONE_CONF" DEFAULT notification_format cadf
        if [[ "$_BRIDGE_CHANGED" == True ]]; then
            restart_service devstack@keystone
        fi
    fi
}

# init_bridge: the database and bridge's tables (or collections).
function init_bridge {
    if _bridge_uses_devstack_database; then
        recreate_database bridge
    fi
    "$BRIDGE_BIN_DIR/bridge-manage" --config-file "$BRIDGE_CONF" db sync \
        || die $LINENO "bridge-manage db sync failed"
}

function start_bridge {
    if is_service_enabled bridge-api; then
        run_process bridge-api "$BRIDGE_BIN_DIR/bridge-api --config-file $BRIDGE_CONF"
    fi
    if is_service_enabled bridge-listener; then
        run_process bridge-listener "$BRIDGE_BIN_DIR/bridge-listener --config-file $BRIDGE_CONF"
    fi
    if is_service_enabled bridge-notifier; then
        run_process bridge-notifier "$BRIDGE_BIN_DIR/bridge-notifier --config-file $BRIDGE_CONF"
    fi
    if is_service_enabled bridge-api; then
        echo "Waiting for bridge-api to answer at $(_bridge_endpoint_url)"
        wait_for_service "$SERVICE_TIMEOUT" "$(_bridge_endpoint_url)" \
            || die $LINENO "bridge-api did not start"
    fi
}

# stop_bridge: SIGTERM; each service finishes its work in flight.
function stop_bridge {
    local service
    for service in "${BRIDGE_SERVICES[@]}"; do
        stop_process "$service"
    done
}

function cleanup_bridge {
    sudo rm -rf "$BRIDGE_STATE_PATH" "$BRIDGE_CONF_DIR"
}


# Dispatch
# --------

if is_service_enabled "${BRIDGE_SERVICES[@]}"; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing bridge"
        install_bridge
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring bridge"
        configure_bridge
        if is_service_enabled key keystone; then
            create_bridge_accounts
        fi
        configure_bridge_notifications
        init_bridge
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Starting bridge"
        start_bridge
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_bridge
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_bridge
    fi
fi

# Restore xtrace
$_XTRACE_BRIDGE
