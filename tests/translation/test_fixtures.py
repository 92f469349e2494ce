"""Every one of the 49 notification samples, through the default rules:
it reaches the project that owns it, or no tenant at all."""

from __future__ import annotations

import json
import re

import pytest

from bridge import translation
from .support import NAMES, SAMPLES, learned_owners, notification, service_of

BODY_KEYS = {'version', 'id', 'event_type', 'timestamp', 'service',
             'priority', 'project_id', 'resource_id', 'request_id',
             'payload'}
ISO_UTC = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
OWNED = [n for n in NAMES if SAMPLES[n]['expected_project'] is not None]
UNOWNED = [n for n in NAMES if SAMPLES[n]['expected_project'] is None]


@pytest.fixture(scope='module')
def owners(rules):
    """The ownership index after every sample went through."""
    return learned_owners(rules)


def test_all_49_samples_are_in_the_fixtures():
    assert len(NAMES) == 49
    for name, s in SAMPLES.items():
        assert s['source'], name
        assert 'expected_project' in s, name


@pytest.mark.parametrize('exchange', [None, 'by-file-name'])
@pytest.mark.parametrize('name', NAMES)
def test_sample_goes_to_its_expected_project_or_to_no_tenant(
        rules, owners, name, exchange):
    if exchange:
        exchange = service_of(name)
    expected = SAMPLES[name]['expected_project']
    result = translation.translate(notification(name, exchange=exchange),
                                   rules, owners)
    if expected is None:
        assert isinstance(result, (translation.Unroutable,
                                   translation.Dropped)), result
    else:
        assert isinstance(result, translation.Routed), result
        assert result.project_id == expected
        assert result.body['project_id'] == expected


@pytest.mark.parametrize('name', OWNED)
def test_routed_sample_goes_to_its_service_queue_deduplicated_by_message_id(
        rules, owners, name):
    s = SAMPLES[name]
    result = translation.translate(notification(name), rules, owners)
    assert result.queue == '%s-events' % service_of(name)
    assert result.ttl is None
    assert result.dedup_key == s['message_id']


@pytest.mark.parametrize('name', OWNED)
def test_routed_body_has_the_documented_version_1_shape(rules, owners, name):
    s = SAMPLES[name]
    body = translation.translate(notification(name), rules, owners).body
    assert set(body) == BODY_KEYS
    assert body['version'] == translation.BODY_VERSION == 1
    assert body['id'] == s['message_id']
    assert body['event_type'] == s['event_type']
    assert body['service'] == service_of(name)
    assert body['priority'] == s['priority'].lower()
    assert body['timestamp'] is None or ISO_UTC.match(body['timestamp'])
    assert body['request_id'] == s['ctxt'].get('request_id')
    assert body['resource_id'] is None or isinstance(body['resource_id'], str)
    assert isinstance(body['payload'], dict)
    json.dumps(body)  # storable as is


@pytest.mark.parametrize('name', UNOWNED)
def test_unowned_sample_is_dead_lettered_unredacted_for_the_operator(
        rules, name):
    s = SAMPLES[name]
    result = translation.translate(notification(name, exchange='x'), rules)
    assert isinstance(result, translation.Unroutable)
    assert result.reason
    assert result.body == {
        'event_type': s['event_type'], 'publisher_id': s['publisher_id'],
        'priority': s['priority'].lower(), 'payload': s['payload'],
        'ctxt': s['ctxt'], 'message_id': s['message_id'],
        'timestamp': s['timestamp'], 'exchange': 'x'}


@pytest.mark.parametrize('name,acting_project', [
    # an admin of another project acts on a tenant's snapshot
    ('cinder__snapshot.create.end', '1816a16093df465dbc609cf638422a05'),
    # nova's service user creates the tenant's port
    ('neutron__port.create.end.from-nova', 'be59108da5704e14a37827f74deeb3ac'),
    # the context is of another project than the router's
    ('neutron__router.exists', '82ed0c40ebe64d0bb3310027039c8ed2'),
    # image downloaded by another project
    ('glance__image.send', 'bbbbbbbb-bbbb-bbbb-bbbbbbbbbbbb'),
])
def test_owner_is_the_resource_owner_not_the_acting_project(
        rules, name, acting_project):
    result = translation.translate(notification(name), rules)
    assert result.project_id == SAMPLES[name]['expected_project']
    assert result.project_id != acting_project


def test_heat_context_tenant_name_never_becomes_a_project(rules):
    # ctxt.tenant is "admin", a project NAME
    result = translation.translate(
        notification('heat__orchestration.stack.update.end'), rules)
    assert result.project_id == 'bb5c2277f9d04c16ab19cd70766aeba1'


@pytest.mark.parametrize('name,resource_id', [
    ('nova__instance.create.end', '178b0921-8f85-4257-88b6-2e743b5a975c'),
    ('nova__server_group.create', '788608ec-ebdc-45c5-bc7f-e5f24ab92c80'),
    ('nova__compute.instance.exists', '3a513875-95c9-4012-a3e7-f90c678854e5'),
    ('cinder__volume.attach.end', 'f54b1d2f-4514-4688-8da7-4bc66767b6be'),
    ('cinder__snapshot.create.end', '56f91625-2fc5-4e4a-8284-4bfd3b3a1914'),
    ('neutron__port.create.end', 'f7c93feb-b837-4bb1-b0bc-7ad2a53d85cb'),
    ('neutron__network.delete.end', '7a95c19d-9abc-4651-b491-f2345994e956'),
    ('glance__image.update', '7ba7087c-b81e-4807-b0e3-dd851f334add'),
    ('glance__image.send', 'cccccccc-cccc-cccc-cccccccccccc'),
    ('keystone__identity.project.created', '671da331c47d4e29bb6ea1d270154ec3'),
    ('designate__dns.recordset.create', 'cfe39618-49da-4877-914b-f25ef0fb3dc1'),
    ('trove__trove.instance.exists', 'a8b55824-e731-40a3-a32d-de81474d74b2'),
    ('heat__orchestration.autoscaling.error', 'hay-are-en'),
])
def test_resource_id_names_the_resource_the_event_is_about(
        rules, owners, name, resource_id):
    body = translation.translate(notification(name), rules, owners).body
    assert body['resource_id'] == resource_id


def test_an_admin_delete_naming_no_owner_needs_the_ownership_index(
        rules, owners):
    """neutron__network.delete.end: payload {"network_id"}, context of an
    admin (role admin, project "admin"): without the index no owner."""
    name = 'neutron__network.delete.end'
    alone = translation.translate(notification(name), rules)
    assert isinstance(alone, translation.Unroutable)
    assert alone.reason.startswith('owner unknown')
    indexed = translation.translate(notification(name), rules, owners)
    assert indexed.project_id == SAMPLES[name]['expected_project']
    assert indexed.ownership.deleted is True
