"""The devstack plugin, tested the way plugin authors do without devstack:
``devstack/settings`` and ``devstack/plugin.sh`` are sourced by bash, with
every devstack function they call replaced by a recorder (a fake functions
file written here). ``iniset``/``iniget`` work on real ini files in a
temporary directory; anything else devstack would provide and the fake
lacks is reported as MISSING and fails the test.

Each phase runs in its own bash process (devstack keeps no plugin state
between ``stack``, ``unstack`` and ``clean``), with ``errexit`` on as in
stack.sh.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

from bridge import translation

REPO = pathlib.Path(__file__).resolve().parents[2]
DEVSTACK = REPO / 'devstack'
RABBIT = 'rabbit://stackrabbit:secretrabbit@10.0.0.5:5672/'
MYSQL = 'mysql+pymysql://root:secretdb@10.0.0.5/bridge?charset=utf8'

# The devstack functions the plugin may call. Recorders print one line per
# call to $CALLS: the name and its arguments, tab separated.
FAKE_FUNCTIONS = r'''
_record() { local IFS=$'\t'; printf '%s\n' "$*" >>"$CALLS"; }
command_not_found_handle() { _record MISSING "$@"; return 127; }

enable_service() { :; }
is_service_enabled() {
    local service
    for service in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
    done
    return 1
}
trueorfalse() {
    local default=$1 value=${!2:-$1}
    case "$value" in
        [Tt]rue|1|yes|Yes|on|On) echo True ;;
        [Ff]alse|0|no|No|off|Off) echo False ;;
        *) echo "$default" ;;
    esac
}
iniset() { _record iniset "$@"; _ini_set "$@"; }
iniget() { _ini_get "$@"; }
echo_summary() { _record echo_summary "$@"; }
die() { _record die "$@"; echo "die: $*" >&2; exit 1; }
sudo() { "$@"; }
get_python_exec_prefix() { echo "$FAKE_BIN"; }
setup_develop() { _record setup_develop "$@"; }
pip_install() { _record pip_install "$@"; }
database_connection_url() { _record database_connection_url "$@";
    echo "mysql+pymysql://root:secretdb@10.0.0.5/$1?charset=utf8"; }
recreate_database() { _record recreate_database "$@"; }
get_notification_url() { echo "rabbit://stackrabbit:secretrabbit@10.0.0.5:5672/"; }
get_transport_url() { echo "rabbit://stackrabbit:secretrabbit@10.0.0.5:5672/"; }
create_service_user() { _record create_service_user "$@"; }
get_or_create_service() { _record get_or_create_service "$@"; echo 5e7a1c; }
get_or_create_endpoint() { _record get_or_create_endpoint "$@"; echo 9d3b2f; }
get_or_create_project() { _record get_or_create_project "$@"; echo 0ac7b5c4adm1n; }
configure_keystone_authtoken_middleware() {
    _record configure_keystone_authtoken_middleware "$@"
    local section=${3:-keystone_authtoken}
    _ini_set "$1" "$section" auth_type password
    _ini_set "$1" "$section" username "$2"
    _ini_set "$1" "$section" www_authenticate_uri http://10.0.0.5/identity
}
setup_logging() { _record setup_logging "$@"; }
write_uwsgi_config() {
    _record write_uwsgi_config "$@"
    rm -f "$1"
    _ini_set "$1" uwsgi wsgi-file "$2"
    [[ -n "$4" ]] && _ini_set "$1" uwsgi http "$4"
    _ini_set "$1" uwsgi processes "$API_WORKERS"
}
remove_uwsgi_config() { _record remove_uwsgi_config "$@"; rm -f "$1"; }
run_process() { _record run_process "$@"; }
stop_process() { _record stop_process "$@"; }
restart_service() { _record restart_service "$@"; }
wait_for_service() { _record wait_for_service "$@"; }
'''

# iniset/iniget on real files, as devstack's inifile functions behave:
# DEFAULT is an ordinary section, a missing file or section is created, an
# existing option is replaced in place. (awk, not Python: a phase makes
# dozens of calls.)
INI_FUNCTIONS = r'''
_ini_get() {
    [[ -f "$1" ]] || return 0
    S="[$2]" O="$3" awk '
        $0 == ENVIRON["S"] { insec = 1; next }
        /^\[/ { insec = 0 }
        insec && (eq = index($0, "=")) > 0 {
            k = substr($0, 1, eq - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
            if (k == ENVIRON["O"]) {
                v = substr($0, eq + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
                print v; exit
            }
        }' "$1"
}
_ini_set() {
    [[ -f "$1" ]] || : >"$1"
    S="[$2]" O="$3" V="$4" awk '
        function put() { print ENVIRON["O"] " = " ENVIRON["V"]; done = 1 }
        $0 == ENVIRON["S"] { print; insec = 1; next }
        insec && /^\[/ { if (!done) put(); insec = 0 }
        insec && !done && (eq = index($0, "=")) > 0 {
            k = substr($0, 1, eq - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
            if (k == ENVIRON["O"]) { put(); next }
        }
        { print }
        END {
            if (!done && insec) put()
            else if (!done) { print ""; print ENVIRON["S"]; put() }
        }' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
'''

FAKE_MANAGE = '''#!/bin/bash
_args=("$@"); IFS=$'\\t'; printf 'exec\\tbridge-manage\\t%s\\n' "${_args[*]}" >>"$CALLS"
'''

ALL_SERVICES = ('key,mysql,rabbit,n-api,n-cpu,n-cond,c-api,c-vol,g-api,'
                'placement-api,bridge-api,bridge-listener,bridge-notifier')


@dataclasses.dataclass
class Devstack:
    """A fake devstack host rooted in a temporary directory."""

    root: pathlib.Path
    env: dict[str, str]

    @property
    def calls_file(self) -> pathlib.Path:
        return pathlib.Path(self.env['CALLS'])

    def phase(self, *args: str) -> list[list[str]]:
        """Run ``plugin.sh ARGS`` like devstack; return the calls it made."""
        self.calls_file.write_text('')
        script = ('set -o errexit\nsource "$FAKE_FUNCTIONS"\n'
                  'source "$PLUGIN_DIR/settings"\n'
                  'source "$PLUGIN_DIR/plugin.sh" %s\n'
                  % ' '.join(args))
        done = subprocess.run(['bash', '-c', script], env=self.env,
                              capture_output=True, text=True, timeout=120,
                              cwd=self.root)
        calls = [line.split('\t') for line in
                 self.calls_file.read_text().splitlines()]
        missing = [c for c in calls if c[0] == 'MISSING']
        assert not missing, 'devstack functions not faked: %s' % missing
        assert done.returncode == 0, done.stdout + done.stderr
        return calls

    def stack(self) -> dict[str, list[list[str]]]:
        return {p: self.phase('stack', p)
                for p in ('pre-install', 'install', 'post-config', 'extra')}

    def ini(self, path: str | pathlib.Path) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(
            interpolation=None, default_section='__devstack_none__')
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        assert parser.read(path), '%s was not written' % path
        return parser

    def path(self, name: str) -> pathlib.Path:
        return pathlib.Path(self.env[name])


@pytest.fixture
def devstack(tmp_path: pathlib.Path) -> Devstack:
    etc = tmp_path / 'etc'
    fake_bin = tmp_path / 'venv' / 'bin'
    fake_bin.mkdir(parents=True)
    manage = fake_bin / 'bridge-manage'
    manage.write_text(FAKE_MANAGE)
    manage.chmod(0o755)
    (tmp_path / 'functions').write_text(INI_FUNCTIONS + FAKE_FUNCTIONS)
    confs = {'NOVA_CONF': etc / 'nova' / 'nova.conf',
             'CINDER_CONF': etc / 'cinder' / 'cinder.conf',
             'NEUTRON_CONF': etc / 'neutron' / 'neutron.conf',
             'GLANCE_API_CONF': etc / 'glance' / 'glance-api.conf',
             'HEAT_CONF': etc / 'heat' / 'heat.conf',
             'KEYSTONE_CONF': etc / 'keystone' / 'keystone.conf'}
    for path in confs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('[DEFAULT]\ndebug = True\n')
    # lib/nova writes the cell conductor's configuration before post-config.
    shutil.copy(confs['NOVA_CONF'], etc / 'nova' / 'nova_cell1.conf')
    env = {
        'PATH': os.environ['PATH'], 'HOME': str(tmp_path),
        'CALLS': str(tmp_path / 'calls'),
        'FAKE_FUNCTIONS': str(tmp_path / 'functions'),
        'FAKE_BIN': str(fake_bin),
        'PLUGIN_DIR': str(DEVSTACK),
        'DEST': str(tmp_path / 'opt'), 'DATA_DIR': str(tmp_path / 'data'),
        'BRIDGE_DIR': str(REPO), 'BRIDGE_CONF_DIR': str(etc / 'bridge'),
        'NOVA_CONF_DIR': str(etc / 'nova'),
        'STACK_USER': subprocess.run(['id', '-un'], capture_output=True,
                                     text=True).stdout.strip(),
        'SERVICE_HOST': '10.0.0.5', 'SERVICE_PROTOCOL': 'http',
        'SERVICE_LISTEN_ADDRESS': '0.0.0.0', 'SERVICE_TIMEOUT': '60',
        'REGION_NAME': 'RegionOne', 'API_WORKERS': '2',
        'ENABLE_DEBUG_LOG_LEVEL': 'True', 'ENABLED_SERVICES': ALL_SERVICES,
        **{name: str(path) for name, path in confs.items()},
    }
    return Devstack(tmp_path, env)


def names(calls: list[list[str]]) -> list[str]:
    return [c[0] for c in calls]


def test_settings_and_plugin_are_shellcheck_clean() -> None:
    assert shutil.which('shellcheck'), (
        'shellcheck is not installed (apt-get install shellcheck)')
    done = subprocess.run(
        ['shellcheck', str(DEVSTACK / 'plugin.sh'), str(DEVSTACK / 'settings')],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_install_installs_bridge_and_nothing_else(devstack: Devstack) -> None:
    """bridge-api brings its own server (granian, a requirement): no
    uwsgi, no WSGI script."""
    calls = devstack.phase('stack', 'install')
    assert [c for c in calls if c[0] != 'echo_summary'] == [
        ['setup_develop', str(REPO)]]
    assert not (devstack.path('FAKE_BIN') / 'bridge-wsgi-api').exists()


def test_post_config_writes_bridge_conf_for_keystone_mysql_and_rabbit(
        devstack: Devstack) -> None:
    calls = devstack.phase('stack', 'post-config')

    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert conf['DEFAULT']['transport_url'] == RABBIT
    assert conf['DEFAULT']['auth_strategy'] == 'keystone'
    assert conf['DEFAULT']['state_path'] == str(
        devstack.root / 'data' / 'bridge')
    assert conf['storage']['url'] == MYSQL + 'mb4'
    assert conf['keystone_authtoken']['auth_type'] == 'password'
    assert conf['keystone_authtoken']['username'] == 'bridge'
    assert conf['listener']['dead_letter_project'] == '0ac7b5c4adm1n'
    assert (conf['api']['bind_host'], conf['api']['bind_port']) == (
        '0.0.0.0', '8888')
    rules = pathlib.Path(conf['listener']['rules_file'])
    assert rules.read_text() == (REPO / 'etc' / 'bridge' / 'rules.yaml'
                                 ).read_text()
    assert ['setup_logging', str(devstack.path('BRIDGE_CONF_DIR')
                                 / 'bridge.conf')] in calls

    # bridge-api's own [api] defaults unless local.conf sets them.
    assert not conf.has_option('api', 'workers')
    assert not conf.has_option('api', 'threads')
    assert 'write_uwsgi_config' not in names(calls)

    # Keystone: service user, "messaging" service and endpoint.
    assert ['create_service_user', 'bridge'] in calls
    assert [c[:3] for c in calls if c[0] == 'get_or_create_service'] == [
        ['get_or_create_service', 'bridge', 'messaging']]
    assert ['get_or_create_endpoint', 'messaging', 'RegionOne',
            'http://10.0.0.5:8888'] in calls

    # Database, then the schema.
    order = names(calls)
    assert ['recreate_database', 'bridge'] in calls
    assert order.index('recreate_database') < order.index('exec')


def test_post_config_runs_db_sync_with_the_config(devstack: Devstack
                                                  ) -> None:
    calls = devstack.phase('stack', 'post-config')
    execs = [c for c in calls if c[0] == 'exec']
    assert execs == [['exec', 'bridge-manage', '--config-file', str(
        devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf'), 'db', 'sync']]


def test_post_config_turns_on_notifications_of_enabled_services_only(
        devstack: Devstack) -> None:
    untouched = {name: devstack.path(name).read_text()
                 for name in ('NEUTRON_CONF', 'HEAT_CONF')}
    calls = devstack.phase('stack', 'post-config')

    for name in ('NOVA_CONF', 'CINDER_CONF', 'GLANCE_API_CONF',
                 'KEYSTONE_CONF'):
        section = devstack.ini(devstack.path(name))[
            'oslo_messaging_notifications']
        assert (section['driver'], section['transport_url']) == (
            'messagingv2', RABBIT), name
    for nova in (devstack.path('NOVA_CONF'),
                 devstack.path('NOVA_CONF_DIR') / 'nova_cell1.conf'):
        notifications = devstack.ini(nova)['notifications']
        assert notifications['notification_format'] == 'versioned'
        assert notifications['notify_on_state_change'] == 'vm_and_task_state'
    assert devstack.ini(devstack.path('KEYSTONE_CONF'))['DEFAULT'][
        'notification_format'] == 'cadf'
    for name, text in untouched.items():
        assert devstack.path(name).read_text() == text, name
    # Keystone already runs at post-config: restarted to apply it.
    assert ['restart_service', 'devstack@keystone'] in calls


def test_second_stack_restarts_keystone_only_if_its_config_changed(
        devstack: Devstack) -> None:
    devstack.phase('stack', 'post-config')
    calls = devstack.phase('stack', 'post-config')
    assert 'restart_service' not in names(calls)


def test_neutron_and_heat_notifications_when_enabled(devstack: Devstack
                                                     ) -> None:
    devstack.env['ENABLED_SERVICES'] += ',q-svc,h-eng,h-api'
    devstack.phase('stack', 'post-config')
    for name in ('NEUTRON_CONF', 'HEAT_CONF'):
        assert devstack.ini(devstack.path(name))[
            'oslo_messaging_notifications']['driver'] == 'messagingv2'


def test_notifications_can_be_left_to_the_operator(devstack: Devstack
                                                   ) -> None:
    devstack.env['BRIDGE_ENABLE_NOTIFICATIONS'] = 'False'
    before = devstack.path('NOVA_CONF').read_text()
    devstack.phase('stack', 'post-config')
    assert devstack.path('NOVA_CONF').read_text() == before


def test_ceilometer_gets_both_nova_formats_and_tenants_get_one(
        devstack: Devstack) -> None:
    devstack.env['ENABLED_SERVICES'] += ',ceilometer-anotification'
    devstack.phase('stack', 'post-config')
    assert devstack.ini(devstack.path('NOVA_CONF'))['notifications'][
        'notification_format'] == 'both'
    rules_path = devstack.path('BRIDGE_CONF_DIR') / 'rules.yaml'
    doc = yaml.safe_load(rules_path.read_text())
    routes = {r['name']: r for r in doc['routes']}
    assert routes['drop-legacy-nova']['enabled'] is True
    assert routes['per-service'].get('enabled', True) is True
    rules = translation.load_rules(str(rules_path))
    assert 'drop-legacy-nova' in [r.name for r in rules.routes]


def test_mongodb_storage_url_skips_the_sql_database(devstack: Devstack
                                                    ) -> None:
    url = 'mongodb://10.0.0.9:27017/bridge?replicaSet=rs0'
    devstack.env['BRIDGE_STORAGE_URL'] = url
    calls = devstack.phase('stack', 'post-config')
    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert conf['storage']['url'] == url
    assert 'recreate_database' not in names(calls)
    assert 'database_connection_url' not in names(calls)
    assert 'exec' in names(calls)


def test_without_keystone_or_database_it_runs_noauth_on_sqlite(
        devstack: Devstack) -> None:
    devstack.env['ENABLED_SERVICES'] = (
        'rabbit,bridge-api,bridge-listener,bridge-notifier')
    calls = devstack.phase('stack', 'post-config')
    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert conf['DEFAULT']['auth_strategy'] == 'noauth'
    assert not conf.has_option('storage', 'url')
    assert not conf.has_section('keystone_authtoken')
    for name in ('create_service_user', 'get_or_create_endpoint',
                 'recreate_database', 'restart_service'):
        assert name not in names(calls)


def test_extra_starts_the_three_services_and_waits_for_the_api(
        devstack: Devstack) -> None:
    calls = devstack.phase('stack', 'extra')
    fake_bin = devstack.path('FAKE_BIN')
    conf = devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf'
    assert [c for c in calls if c[0] == 'run_process'] == [
        ['run_process', 'bridge-api',
         '%s/bridge-api --config-file %s' % (fake_bin, conf)],
        ['run_process', 'bridge-listener',
         '%s/bridge-listener --config-file %s' % (fake_bin, conf)],
        ['run_process', 'bridge-notifier',
         '%s/bridge-notifier --config-file %s' % (fake_bin, conf)],
    ]
    assert ['wait_for_service', '60', 'http://10.0.0.5:8888'] in calls


def test_disabled_service_is_not_started(devstack: Devstack) -> None:
    devstack.env['ENABLED_SERVICES'] = ALL_SERVICES.replace(
        ',bridge-notifier', '')
    calls = devstack.phase('stack', 'extra')
    assert [c[1] for c in calls if c[0] == 'run_process'] == [
        'bridge-api', 'bridge-listener']


def test_full_stack_then_unstack_stops_all_three(devstack: Devstack
                                                 ) -> None:
    phases = devstack.stack()
    assert phases['pre-install'] == []
    calls = devstack.phase('unstack')
    assert [c for c in calls if c[0] == 'stop_process'] == [
        ['stop_process', 'bridge-api'], ['stop_process', 'bridge-listener'],
        ['stop_process', 'bridge-notifier']]
    assert 'run_process' not in names(calls)


def test_api_workers_and_threads_from_local_conf(devstack: Devstack
                                                 ) -> None:
    devstack.env.update(BRIDGE_API_WORKERS='3', BRIDGE_API_THREADS='2')
    devstack.phase('stack', 'post-config')
    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert (conf['api']['workers'], conf['api']['threads']) == ('3', '2')


def test_clean_removes_state_and_configuration(devstack: Devstack) -> None:
    devstack.stack()
    conf_dir = devstack.path('BRIDGE_CONF_DIR')
    assert (conf_dir / 'bridge.conf').exists()
    devstack.phase('clean')
    assert not conf_dir.exists()
    assert not (devstack.root / 'data' / 'bridge').exists()


def test_plugin_does_nothing_when_bridge_is_disabled(devstack: Devstack
                                                     ) -> None:
    # settings enables the services; the operator disabled them all in
    # local.conf (disable_service), after which devstack's ENABLED_SERVICES
    # no longer lists them.
    devstack.env['ENABLED_SERVICES'] = ','.join(
        s for s in ALL_SERVICES.split(',') if not s.startswith('bridge-'))
    script = ('set -o errexit\nsource "$FAKE_FUNCTIONS"\n'
              'source "$PLUGIN_DIR/settings"\n'
              'for phase in install post-config extra; do\n'
              '  source "$PLUGIN_DIR/plugin.sh" stack $phase\ndone\n'
              'source "$PLUGIN_DIR/plugin.sh" unstack\n')
    devstack.calls_file.write_text('')
    done = subprocess.run(['bash', '-c', script], env=devstack.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert devstack.calls_file.read_text() == ''


def test_settings_enable_the_three_services(devstack: Devstack) -> None:
    script = ('source "$FAKE_FUNCTIONS"\n'
              'enable_service() { _record enable_service "$@"; }\n'
              'source "$PLUGIN_DIR/settings"\n'
              'echo "$BRIDGE_CONF $BRIDGE_SERVICE_PORT '
              '$BRIDGE_ENABLE_NOTIFICATIONS"\n')
    devstack.calls_file.write_text('')
    done = subprocess.run(['bash', '-c', script], env=devstack.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert devstack.calls_file.read_text().split('\n')[0].split('\t') == [
        'enable_service', 'bridge-api', 'bridge-listener', 'bridge-notifier']
    assert done.stdout.split() == [
        str(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf'), '8888',
        'True']


def test_bridge_declares_queues_and_exchanges_as_the_services_do(
        devstack: Devstack) -> None:
    """The pool queue is durable anyway; quorum when the services use
    quorum queues, and missing exchanges created as the services would."""
    nova = devstack.path('NOVA_CONF')
    nova.write_text('[DEFAULT]\ndebug = True\n[oslo_messaging_rabbit]\n'
                    'rabbit_quorum_queue = True\n'
                    'amqp_durable_queues = True\n')
    devstack.phase('stack', 'post-config')
    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert conf['listener']['pool_queue_type'] == 'auto'
    assert dict(conf['oslo_messaging_rabbit']) == {
        'rabbit_quorum_queue': 'True', 'amqp_durable_queues': 'True'}


def test_oslo_messaging_defaults_are_left_as_they_are(devstack: Devstack
                                                      ) -> None:
    devstack.phase('stack', 'post-config')
    conf = devstack.ini(devstack.path('BRIDGE_CONF_DIR') / 'bridge.conf')
    assert conf['listener']['pool_queue_type'] == 'auto'
    assert not conf.has_section('oslo_messaging_rabbit')
