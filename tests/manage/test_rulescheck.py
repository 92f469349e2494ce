"""``bridge-manage rules check FILE``: exactly what a tenant would receive,
shown for notification files, with the configured rules, operator
projects and ownership index."""

from __future__ import annotations

import json
import pathlib
import re

from bridge import emitter
from bridge import translation
from bridge.storage import models
from tests.manage.conftest import Setup, write_conf

FIXTURES = pathlib.Path(__file__).parent.parent / 'fixtures' / 'notifications'
OWNER = '5fe7c4e4e492490393c674089a178e19'
NETWORK = '7a95c19d-9abc-4651-b491-f2345994e956'
RULES = translation.load_rules(translation.default_rules_path())


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / ('%s.json' % name)).read_text())


def write(tmp_path: pathlib.Path, doc: object) -> str:
    path = tmp_path / 'notes.json'
    path.write_text(json.dumps(doc))
    return str(path)


def bodies(stdout: str) -> list[dict]:
    """The JSON bodies the command printed."""
    return [json.loads(block) for block in
            re.findall(r'^\{\n.*?^\}$', stdout, re.M | re.S)]


def test_a_routed_notification_shows_its_owner_queue_and_exact_body(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    sample = fixture('cinder__volume.create.end')
    done = setup.manage('rules', 'check', write(tmp_path, sample))
    assert done.returncode == 0, done.stderr
    assert ('[0] volume.create.end (%s) -> project %s, queue cinder-events '
            '(owner from the payload)' % (sample['publisher_id'],
                                          sample['expected_project'])
            in done.stdout)
    expected = translation.translate(translation.Notification(
        event_type=sample['event_type'], publisher_id=sample['publisher_id'],
        priority='info', payload=sample['payload'], ctxt=sample['ctxt'],
        message_id=sample['message_id'], timestamp=sample['timestamp']),
        RULES)
    assert bodies(done.stdout) == [expected.body]
    assert 'lvmdriver' not in done.stdout.split('\n', 2)[2]


def test_an_admin_delete_is_dead_lettered_without_the_index(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, fixture('neutron__network.delete.end'))
    done = setup.manage('rules', 'check', path, '--no-index')
    assert done.returncode == 0, done.stderr
    assert 'ownership index: not consulted' in done.stdout
    assert '-> operator dead-letter queue: no tenant receives it' \
        in done.stdout
    assert 'reason: owner unknown' in done.stdout
    assert bodies(done.stdout) == []


def test_the_ownership_index_in_storage_names_the_owner(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    setup.store.record_owners([models.Ownership('neutron:network', NETWORK,
                                                OWNER)])
    path = write(tmp_path, fixture('neutron__network.delete.end'))
    done = setup.manage('rules', 'check', path)
    assert done.returncode == 0, done.stderr
    assert ('-> project %s, queue neutron-events (owner from the ownership '
            'index)' % OWNER) in done.stdout
    assert bodies(done.stdout)[0]['payload'] == {'network_id': NETWORK}


def test_a_file_is_checked_in_order_as_the_listener_would(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    create = fixture('neutron__network.create.end')
    delete = fixture('neutron__network.delete.end')
    done = setup.manage('rules', 'check', write(tmp_path, [create, delete]),
                        '--no-index')
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('-> project %s, queue neutron-events' % OWNER) \
        == 2
    assert setup.store.lookup_owners([('neutron:network', NETWORK)]) == {}


def test_operator_projects_and_the_wire_form_are_honoured(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    sample = fixture('neutron__network.delete.end')
    sample['ctxt'] = {'project_id': OWNER, 'roles': ['member']}
    wire = emitter.wire_message(sample)
    path = write(tmp_path, wire)
    done = setup.manage('rules', 'check', path)
    assert '-> project %s' % OWNER in done.stdout
    assert '(owner from the request context)' in done.stdout
    write_conf(setup.path, setup.url,
               '[translation]\noperator_projects = %s\n' % OWNER)
    done = setup.manage('rules', 'check', path)
    assert 'reason: owner unknown' in done.stdout
    assert 'operator project %s' % OWNER in done.stdout


def test_an_unreadable_file_ends_with_one_clear_line(
        setup: Setup, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / 'bad.json'
    bad.write_text('{"payload": {}}')
    done = setup.manage('rules', 'check', str(bad))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'bridge-manage: %s: item 0 has no "event_type"' % bad)
    done = setup.manage('rules', 'check', str(tmp_path / 'missing.json'))
    assert done.returncode == 1
    assert 'cannot read' in done.stderr and len(
        done.stderr.strip().splitlines()) == 1
