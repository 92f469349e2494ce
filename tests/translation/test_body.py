"""The versioned tenant body: timestamps, service names, request ids."""

from __future__ import annotations

import pytest

from bridge import translation
from bridge.translation import body

from .support import notification, sample


@pytest.mark.parametrize('raw,iso', [
    ('2026-11-22 01:01:49.683602', '2026-11-22T01:01:49.683602Z'),
    ('2012-09-18T10:13:45.010245', '2012-09-18T10:13:45.010245Z'),
    ('2026-11-22 01:01:49', '2026-11-22T01:01:49.000000Z'),
    ('2016-03-07T17:24:49.781885+00:00', '2016-03-07T17:24:49.781885Z'),
    ('2016-03-07T19:24:49.781885+02:00', '2016-03-07T17:24:49.781885Z'),
    ('2012-10-29T13:42:11Z', '2012-10-29T13:42:11.000000Z'),
    ('2015-09-24 12:47:.634363', None),     # as in glance__image.member.create
    ('yesterday', None), ('', None), (None, None), (1700000000, None),
])
def test_timestamps_become_iso_8601_utc(raw, iso):
    assert body.iso_timestamp(raw) == iso


@pytest.mark.parametrize('family_service,exchange,publisher,service', [
    ('nova', 'other', 'x.y', 'nova'),           # the family decides
    (None, 'octavia', 'x.y', 'octavia'),        # then the exchange
    (None, 'openstack', 'compute.host1', 'nova'),
    (None, None, 'compute.host1', 'nova'),
    (None, None, 'nova-conductor:cell1-host', 'nova'),
    (None, None, 'volume.devstack@lvmdriver-1', 'cinder'),
    (None, None, 'network.devstack', 'neutron'),
    (None, None, 'central.ubunt', 'designate'),
    (None, None, 'manila-share:host@generic', 'manila'),
    (None, None, 'trove', 'trove'),
    (None, None, 'Mystery Service.host', 'mystery-service'),
    (None, None, '', 'unknown'),
])
def test_service_name_never_includes_the_host(family_service, exchange,
                                               publisher, service):
    assert body.service_name(family_service, exchange, publisher) == service


def test_only_the_request_id_of_the_context_reaches_the_body(rules):
    s = sample('cinder__snapshot.create.end')
    result = translation.translate(notification(s), rules)
    assert result.body['request_id'] == s['ctxt']['request_id']
    assert 'ctxt' not in result.body
    for key in ('user_identity', 'service_catalog', 'roles', 'remote_address'):
        assert key not in str(result.body)


def test_missing_or_odd_request_id_is_null(rules):
    for ctxt in ({}, {'request_id': 5}, {'request_id': ''}):
        n = notification('cinder__volume.create.end', ctxt=ctxt)
        assert translation.translate(n, rules).body['request_id'] is None


def test_body_for_a_versioned_nova_event(rules):
    result = translation.translate(notification('nova__instance.create.end'),
                                   rules)
    assert {k: v for k, v in result.body.items() if k != 'payload'} == {
        'version': 1,
        'id': '0ab4b1c6-3f5e-4d52-9d87-3c7e0f0b8a11',
        'event_type': 'instance.create.end',
        'timestamp': '2012-10-29T13:42:11.612811Z',
        'service': 'nova',
        'priority': 'info',
        'project_id': '6f70656e737461636b20342065766572',
        'resource_id': '178b0921-8f85-4257-88b6-2e743b5a975c',
        'request_id': None,
    }
    data = result.body['payload']['nova_object.data']
    assert data['display_name'] == 'some-server'
    assert 'host' not in data and 'node' not in data
