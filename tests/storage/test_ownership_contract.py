"""The ownership index contract of bridge.storage.base (record_owners,
lookup_owners), checked against every backend (see conftest.py).

Keys are made unique per test from the ``project`` fixture, so tests share
the databases without seeing each other's entries."""

from __future__ import annotations

import time

import pytest

from bridge.storage import models
from .support import run_threads

NET = 'neutron:network'
PORT = 'neutron:port'


@pytest.fixture
def rid(project):
    """Resource ids no other test uses."""
    return lambda name: '%s-%s' % (project, name)


def entry(kind, resource_id, project, expires=models.OWNER_LIVE):
    return models.Ownership(kind, resource_id, project, expires)


def test_a_recorded_owner_is_found_by_type_and_id(storage, rid):
    storage.record_owners([entry(NET, rid('n1'), 'tenant-a'),
                           entry(PORT, rid('p1'), 'tenant-b')])
    found = storage.lookup_owners([(NET, rid('n1')), (PORT, rid('p1')),
                                   (NET, rid('unknown'))])
    assert found == {(NET, rid('n1')): entry(NET, rid('n1'), 'tenant-a'),
                     (PORT, rid('p1')): entry(PORT, rid('p1'), 'tenant-b')}
    assert found[(NET, rid('n1'))].live


def test_the_same_id_of_another_type_is_another_resource(storage, rid):
    storage.record_owners([entry(NET, rid('x'), 'tenant-a')])
    assert storage.lookup_owners([('glance:image', rid('x'))]) == {}
    storage.record_owners([entry('glance:image', rid('x'), 'intruder')])
    assert storage.lookup_owners([(NET, rid('x'))])[(NET, rid('x'))] \
        .project == 'tenant-a'


def test_nothing_to_record_or_look_up_is_a_no_op(storage):
    storage.record_owners([])
    assert storage.lookup_owners([]) == {}


def test_recording_again_is_idempotent_and_a_new_project_replaces_the_old(
        storage, rid):
    for _ in range(2):
        storage.record_owners([entry(NET, rid('n'), 'tenant-a')])
    assert storage.lookup_owners([(NET, rid('n'))])[(NET, rid('n'))] \
        .project == 'tenant-a'
    storage.record_owners([entry(NET, rid('n'), 'tenant-b')])
    assert storage.lookup_owners([(NET, rid('n'))])[(NET, rid('n'))] \
        .project == 'tenant-b'


def test_a_delete_keeps_the_entry_for_its_grace_period_only(storage, rid):
    now = time.time()
    storage.record_owners([entry(NET, rid('n'), 'tenant-a')], now=now)
    storage.record_owners([entry(NET, rid('n'), 'tenant-a', now + 60)],
                          now=now)
    found = storage.lookup_owners([(NET, rid('n'))], now=now + 59)
    assert found[(NET, rid('n'))].expires == pytest.approx(now + 60)
    assert not found[(NET, rid('n'))].live
    assert storage.lookup_owners([(NET, rid('n'))], now=now + 61) == {}


def test_a_late_event_never_makes_a_deleted_resource_live_again(
        storage, rid):
    now = time.time()
    storage.record_owners([entry(NET, rid('n'), 'tenant-a', now + 60)])
    storage.record_owners([entry(NET, rid('n'), 'tenant-a')])  # late update
    storage.record_owners([entry(NET, rid('n'), 'tenant-a', now + 600)])
    found = storage.lookup_owners([(NET, rid('n'))], now=now)
    assert found[(NET, rid('n'))].expires == pytest.approx(now + 60)


def test_a_batch_naming_one_resource_twice_ends_as_recorded_in_order(
        storage, rid):
    now = time.time()
    storage.record_owners([entry(NET, rid('n'), 'tenant-a'),
                           entry(NET, rid('n'), 'tenant-a', now + 30),
                           entry(NET, rid('n'), 'tenant-b')])
    found = storage.lookup_owners([(NET, rid('n'))], now=now)[(NET, rid('n'))]
    assert found.project == 'tenant-b'
    assert found.expires == pytest.approx(now + 30)


def test_a_lookup_of_many_keys_is_answered_at_once(storage, rid):
    keys = [(PORT, rid('p%d' % i)) for i in range(120)]
    storage.record_owners([entry(k, i, 'tenant-%d' % (n % 3))
                           for n, (k, i) in enumerate(keys)])
    found = storage.lookup_owners(keys + [(PORT, rid('missing'))])
    assert sorted(found) == sorted(keys)
    assert {found[k].project for k in keys} == {'tenant-0', 'tenant-1',
                                                'tenant-2'}


def test_processes_recording_the_same_resources_at_once_all_succeed(
        storage, rid):
    """Writers race on the same new keys: none fails, every key ends
    recorded, and a delete's expiry survives concurrent "live" records."""
    now = time.time()
    keys = [rid('r%d' % i) for i in range(20)]

    def write(index):
        expires = now + 120 if index == 0 else models.OWNER_LIVE
        for _ in range(3):
            storage.record_owners([entry(NET, k, 'tenant-a', expires)
                                   for k in keys])

    run_threads(4, write)
    found = storage.lookup_owners([(NET, k) for k in keys], now=now)
    assert len(found) == len(keys)
    assert [e.expires for e in found.values()] == \
        [pytest.approx(now + 120)] * len(keys)


def test_sweep_removes_expired_entries_only(storage, rid):
    now = time.time()
    storage.record_owners([entry(NET, rid('gone'), 'tenant-a', now - 1),
                           entry(NET, rid('kept'), 'tenant-a')])
    storage.sweep(now)
    assert storage.lookup_owners([(NET, rid('gone'))], now=now - 10) == {}
    assert (NET, rid('kept')) in storage.lookup_owners([(NET, rid('kept'))])


def test_an_unreachable_backend_is_unavailable(unreachable_storage):
    from bridge.storage import errors
    with pytest.raises(errors.Unavailable):
        unreachable_storage.lookup_owners([(NET, 'x')])
    with pytest.raises(errors.Unavailable):
        unreachable_storage.record_owners([entry(NET, 'x', 'p')])
