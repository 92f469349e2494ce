"""``bridge-manage upgrade check``: read-only readiness checks with
oslo.upgradecheck's exit codes (0 success, 1 warning, 2 failure)."""

from __future__ import annotations

import json
import os
import re
import pathlib
import uuid

import pymongo
import pytest
import sqlalchemy as sa

from bridge import storage as bridge_storage
from bridge.listeners import poolqueue
from bridge.manage import upgradecheck
from bridge.storage import errors as storage_errors
from tests.listeners.conftest import make_conf
from tests.manage.conftest import Setup, write_conf

MONGO_URL = os.environ.get(
    'BRIDGE_TEST_MONGODB_URL',
    'mongodb://127.0.0.1:27018/bridge_test?directConnection=true')

KEYSTONE = '''
[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = http://keystone.example.net/identity
auth_url = http://keystone.example.net/identity
auth_type = password
username = bridge
password = secret
project_name = service
user_domain_id = default
project_domain_id = default
'''


def results(setup: Setup) -> tuple[int, dict[str, tuple[int, str]]]:
    done = setup.manage('upgrade', 'check', '--json')
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr
    doc = json.loads(done.stdout)
    return done.returncode, {c['check']: (c['result'], c['details'] or '')
                             for c in doc['checks']}


def test_ready_sqlite_deployment_warns_only_about_noauth(setup: Setup
                                                         ) -> None:
    code, checks = results(setup)
    assert code == 1
    assert checks['Storage'][0] == 0
    assert checks['Rules file'][0] == 0
    assert 'default_rules.yaml' in checks['Rules file'][1]
    assert checks['Authentication'] == (1, checks['Authentication'][1])
    assert 'noauth' in checks['Authentication'][1]


def test_keystone_deployment_with_admin_dead_letter_project_passes(
        setup: Setup) -> None:
    write_conf(setup.path, setup.url, 'dead_letter_project = 0ac7b5c4\n'
               + KEYSTONE)
    code, checks = results(setup)
    assert {name: result for name, (result, _) in checks.items()} == {
        'Storage': 0, 'Rules file': 0, 'Authentication': 0,
        'Dead-letter queue': 0, 'Notification bus': 0, 'Policy file': 0}
    assert code == 0


def test_default_bus_settings_keep_waiting_notifications(setup: Setup
                                                         ) -> None:
    _, checks = results(setup)
    assert checks['Notification bus'][0] == 0
    assert "Pool queue 'bridge' is a durable classic queue" \
        in checks['Notification bus'][1]


def test_quorum_delivery_limit_fails_and_is_named(setup: Setup) -> None:
    write_conf(setup.path, setup.url, '[oslo_messaging_rabbit]\n'
               'rabbit_quorum_queue = true\n'
               'rabbit_quorum_delivery_limit = 3\n')
    code, checks = results(setup)
    assert code == 2
    assert checks['Notification bus'][0] == 2
    assert '[oslo_messaging_rabbit] rabbit_quorum_delivery_limit = 3' \
        in checks['Notification bus'][1]


@pytest.mark.parametrize('listener, rabbit, code, words', [
    ({'pool': ''}, {}, 2, '[listener] pool is empty'),
    ({'pool_queue_type': 'quorum'}, {'rabbit_quorum_delivery_limit': 3}, 2,
     'rabbit_quorum_delivery_limit = 3'),
    ({}, {'rabbit_quorum_queue': True}, 0, "'bridge' is a quorum queue"),
    ({}, {'amqp_durable_queues': True}, 0, 'created durable when missing'),
])
def test_bus_check_names_unsafe_settings_and_describes_safe_ones(
        listener: dict, rabbit: dict, code: int, words: str) -> None:
    conf = make_conf('sqlite://', **listener)
    poolqueue.rabbit_conf(conf)
    for key, value in rabbit.items():
        conf.set_override(key, value, group='oslo_messaging_rabbit')
    result = upgradecheck.check_bus(conf)
    assert result.code == code
    assert words in (result.details or '')


def test_keystone_with_default_dead_letter_project_warns(setup: Setup
                                                         ) -> None:
    path = setup.path
    path.write_text('[storage]\nurl = %s\n' % setup.url + KEYSTONE)
    code, checks = results(setup)
    assert code == 1
    assert checks['Dead-letter queue'][0] == 1
    assert 'admin project id' in checks['Dead-letter queue'][1]


def test_keystone_without_credentials_fails(setup: Setup) -> None:
    write_conf(setup.path, setup.url, '[DEFAULT]\nauth_strategy = keystone\n')
    code, checks = results(setup)
    assert code == 2
    assert checks['Authentication'][0] == 2
    assert 'auth_type is not set' in checks['Authentication'][1]

    write_conf(setup.path, setup.url,
               '[DEFAULT]\nauth_strategy = keystone\n'
               '[keystone_authtoken]\nauth_type = password\n')
    code, checks = results(setup)
    assert code == 2
    assert 'not given: auth_url' in checks['Authentication'][1]


def test_missing_database_fails_without_creating_it(tmp_path: pathlib.Path
                                                    ) -> None:
    db = tmp_path / 'state' / 'bridge.sqlite'
    path = tmp_path / 'bridge.conf'
    path.write_text('[DEFAULT]\nstate_path = %s\n' % db.parent)
    code, checks = results(Setup(path, '', None))  # type: ignore[arg-type]
    assert code == 2
    assert checks['Storage'][0] == 2
    assert 'bridge-manage db sync' in checks['Storage'][1]
    assert not db.exists()


def test_missing_table_fails_and_names_it(setup: Setup) -> None:
    engine = sa.create_engine(setup.url)
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE subscriptions')
    engine.dispose()
    code, checks = results(setup)
    assert code == 2
    assert 'lacks tables/columns subscriptions;' in checks['Storage'][1]


def test_unreachable_storage_fails_without_showing_the_password(
        setup: Setup) -> None:
    write_conf(setup.path, 'postgresql://bridge:s3cret@127.0.0.1:1/nowhere')
    code, checks = results(setup)
    assert code == 2
    assert 'does not answer' in checks['Storage'][1]
    assert 'bridge:***@' in checks['Storage'][1]
    assert 's3cret' not in json.dumps(checks)


def test_invalid_rules_file_fails_with_the_validation_error(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    rules = tmp_path / 'rules.yaml'
    rules.write_text('version: 1\nroutes:\n  - name: r\n    match: {}\n'
                     '    queue: "{tenant}"\n')
    write_conf(setup.path, setup.url, 'rules_file = %s\n' % rules)
    code, checks = results(setup)
    assert code == 2
    assert checks['Rules file'][0] == 2
    assert str(rules) in checks['Rules file'][1]


def test_table_output_for_humans(setup: Setup) -> None:
    done = setup.manage('upgrade', 'check')
    assert done.returncode == 1
    assert 'bridge upgrade check results' in done.stdout
    assert 'Check: Storage' in done.stdout and 'Result: Warning' in done.stdout


def test_mongodb_indexes_are_checked() -> None:
    name = 'bridge_test_upgrade_%s' % uuid.uuid4().hex[:8]
    # A database of its own, whatever the configured URL names.
    url = re.sub(r'/[^/?]*(\?|$)', r'/%s\1' % name, MONGO_URL, count=1)
    conf = make_conf(url)
    store = bridge_storage.from_url(url, conf)
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        try:
            store.health()
        except storage_errors.Unavailable as exc:
            pytest.fail('MongoDB test server unreachable at %s (%s); run '
                        'tools/services.sh' % (url, exc))
        empty = upgradecheck.check_storage(conf)
        assert empty.code == 2
        assert 'lacks indexes dedup.queue_key, messages.queue_marker, ' \
            'queues.project_name, quotas.project_resource, ' \
            'subscriptions.queue_subscriber;' in empty.details
        store.ensure_schema()
        ready = upgradecheck.check_storage(conf)
        assert (ready.code, ready.details) == (
            0, 'Storage %s answers and its schema is complete.' % url)
    finally:
        client.drop_database(name)
        client.close()
        store.close()
