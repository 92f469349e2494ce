"""Planted internals: for every event family bridge routes, a payload
loaded with the cloud's insides (private and public infrastructure IPs,
FQDNs, compute and storage host names, transport URLs with passwords,
tracebacks, keys no allow-list names) reaches its tenant without any of
it, while the tenant's own data and the harmless words around a scrubbed
detail stay."""

from __future__ import annotations

import json

import pytest

from bridge import translation
from .support import notification, sample

PRIVATE_IP = '10.20.30.40'
PUBLIC_IP = '203.0.113.77'
IPV6 = '2001:db8:0:42::17'
FQDN = 'cinder-vol-01.internal'
FQDN2 = 'cmp-0042.cloud.example.net'
COMPUTE_HOST = 'cmp-0042'
STORAGE_HOST = 'ceph-osd-17'
PUBLISHER_HOST = 'pubhost-77'
PASSWORD = 'S3cr3tPw'
URL = 'rabbit://nova:%s@10.1.2.3:5672/' % PASSWORD
TRACEBACK = ('Traceback (most recent call last):\n  File "/usr/lib/python3/'
             'dist-packages/nova/compute/manager.py", line 2437, in _build'
             '\n    raise exc\nnova.exception.Boom: boom')
UNKNOWN = 'planted-unknown-value'
KEPT = 'attached via iSCSI target'
TEXT = ('%s %s:3260 on %s (%s); public %s, v6 [%s]:8080; node %s on %s; '
        'bus %s; published by %s'
        % (KEPT, PRIVATE_IP, FQDN, STORAGE_HOST, PUBLIC_IP, IPV6, FQDN2,
           COMPUTE_HOST, URL, PUBLISHER_HOST))
SECRETS = (PRIVATE_IP, PUBLIC_IP, IPV6, '2001:db8', FQDN, FQDN2, 'cmp-0042',
           STORAGE_HOST, PUBLISHER_HOST, PASSWORD, 'rabbit://', 'Traceback',
           'manager.py', UNKNOWN, 'x_internal_note', 'compute_host',
           '10.1.2.3')
# Maps the tenant sets itself (server metadata, image properties): kept
# whole, so nothing is planted inside them.
TENANT_MAPS = frozenset(('metadata', 'properties', 'image_meta', 'rules',
                         'extra_specs', 'tags'))


def plant_unknown_keys(value, counter=None):
    """An unknown key in every object of the payload."""
    counter = counter if counter is not None else [0]
    if isinstance(value, dict):
        for key, item in list(value.items()):
            if key not in TENANT_MAPS:
                plant_unknown_keys(item, counter)
        counter[0] += 1
        value['x_internal_note'] = '%s-%d' % (UNKNOWN, counter[0])
        value['compute_host'] = COMPUTE_HOST
    elif isinstance(value, list):
        for item in value:
            plant_unknown_keys(item, counter)
    return value


def set_path(payload, path, value):
    for key in path[:-1]:
        payload = payload.setdefault(key, {})
    payload[path[-1]] = value


NOVA_DATA = 'nova_object.data'
# family -> (sample or synthetic event, free-text field paths, publisher)
CASES = {
    'nova-versioned': ('nova__instance.create.error',
                       [(NOVA_DATA, 'fault', NOVA_DATA, 'exception_message')],
                       'nova-compute:%s'),
    'nova-legacy': ('nova__compute.instance.create.error', [('message',)],
                    'compute.%s'),
    'heat': ('heat__orchestration.stack.update.end', [('state_reason',)],
             'orchestration.%s'),
    'cinder-snapshot': ('cinder__snapshot.create.end',
                        [('display_description',)], 'snapshot.%s'),
    'cinder-backup': ('backup', [('fail_reason',)], 'backup.%s'),
    'cinder-volume': ('cinder__volume.attach.end', [('status_reason',)],
                      'volume.%s@lvm'),
    'neutron': ('neutron__port.create.end.from-nova',
                [('port', 'description')], 'network.%s'),
    'glance-send': ('glance__image.send', [], 'image.%s'),
    'glance': ('glance__image.upload', [], 'image.%s'),
    'keystone-project': ('keystone__identity.project.created', [],
                         'identity.%s'),
    'keystone-role-assignment': ('keystone__identity.role_assignment.created',
                                 [], 'identity.%s'),
    'designate': ('designate__dns.zone.create', [('description',)],
                  'central.%s'),
    'trove': ('trove__trove.instance.exists', [], 'taskmanager.%s'),
    'default': ('octavia', [('loadbalancer', 'description')],
                'octavia-worker:%s'),
}


def base_event(name):
    if name == 'backup':
        s = sample('cinder__volume.create.end')
        s['event_type'] = 'backup.create.end'
        s['payload'] = {'backup_id': 'b-1', 'volume_id': 'v-1',
                        'tenant_id': 'p-backup', 'status': 'error',
                        'display_name': 'nightly', 'size': 10}
        s['expected_project'] = 'p-backup'
        return s
    if name == 'octavia':
        s = sample('cinder__volume.create.end')
        s['event_type'] = 'octavia.loadbalancer.update.end'
        s['payload'] = {'loadbalancer': {
            'id': 'lb-1', 'name': 'web-lb', 'project_id': 'p-octavia',
            'provisioning_status': 'ERROR', 'vip_address': '172.24.4.10',
            'amphora_host': COMPUTE_HOST}, 'project_id': 'p-octavia'}
        s['expected_project'] = 'p-octavia'
        return s
    return sample(name)


def planted(family, traceback=False):
    name, free_text, publisher = CASES[family]
    s = base_event(name)
    payload = plant_unknown_keys(s['payload'])
    payload['host'] = '%s@rbd#rbd' % STORAGE_HOST
    payload['node'] = FQDN2
    payload['hypervisor_hostname'] = COMPUTE_HOST
    payload['transport_url'] = URL
    payload['traceback'] = TRACEBACK
    for path in free_text:
        set_path(payload, path, TEXT + ('\n' + TRACEBACK if traceback
                                        else ''))
    s['publisher_id'] = publisher % PUBLISHER_HOST
    return s, free_text


def test_every_routed_family_has_a_planted_case(rules):
    operator_only = {f.name for f in rules.families
                     if not f.owner and not f.context_fallback}
    assert set(CASES) == {f.name for f in rules.families} - operator_only


@pytest.mark.parametrize('family', sorted(CASES))
def test_planted_internals_never_reach_the_tenant(rules, family):
    s, free_text = planted(family)
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Routed), result
    assert result.project_id == s['expected_project']
    text = json.dumps(result.body)
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, (family, leaked, text)
    if free_text:
        # scrubbed, not dropped: the words around each detail stay
        assert KEPT in text and '<redacted>' in text


@pytest.mark.parametrize('family', sorted(f for f in CASES if CASES[f][1]))
def test_a_traceback_in_free_text_never_reaches_the_tenant(rules, family):
    s, _ = planted(family, traceback=True)
    text = json.dumps(translation.translate(notification(s), rules).body)
    assert 'Traceback' not in text and 'manager.py' not in text
    assert 'Boom' not in text and '<redacted>' in text


def test_the_tenants_own_addresses_stay_in_free_text(rules):
    s = sample('neutron__port.create.end.from-nova')
    s['payload']['port']['description'] = (
        'port 192.168.40.2 of the tenant, router 10.99.0.1 of the cloud')
    body = translation.translate(notification(s), rules).body
    assert body['payload']['port']['description'] == (
        'port 192.168.40.2 of the tenant, router <redacted> of the cloud')


def test_a_floating_ip_of_the_event_stays_in_free_text(rules):
    s = sample('neutron__floatingip.update.end')
    s['payload']['floatingip']['description'] = (
        'NAT 172.25.0.20 -> 172.40.0.6 via 192.0.2.254')
    body = translation.translate(notification(s), rules).body
    assert body['payload']['floatingip']['description'] == (
        'NAT 172.25.0.20 -> 172.40.0.6 via <redacted>')


def test_the_issue_example_is_scrubbed(rules):
    s = sample('cinder__volume.attach.end')
    s['payload']['status_reason'] = ('attached via iSCSI target '
                                     '10.20.30.40:3260 on '
                                     'cinder-vol-01.internal')
    s['payload']['x_internal_note'] = 'moved from rack 7'
    payload = translation.translate(notification(s), rules).body['payload']
    assert payload['status_reason'] == ('attached via iSCSI target '
                                        '<redacted> on <redacted>')
    assert 'x_internal_note' not in payload
