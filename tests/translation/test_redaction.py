"""Redaction: operator-only data never reaches a tenant; tenant data stays;
the input is never modified."""

from __future__ import annotations

import copy
import json
import re

import pytest

from bridge import translation
from bridge.translation import redaction
from bridge.translation.ruleset import Redaction

from .support import NAMES, SAMPLES, notification

# sample -> values found in the sample that must not be in the stored body
OPERATOR_DATA = {
    'nova__instance.create.error': [
        'Traceback (most recent call last)', 'nova/compute/manager.py',
        '_build_resources', 'notification_sample_tests', 'FlavorDiskTooSmall'],
    'nova__compute.instance.create.error': [
        '/usr/bin/virsh', 'qemu:///system', '"undercloud"',
        'b94ebb7a-34f2-4146-94c3-5bbc46b4d5ff',      # ironic node
        '192.0.2.1:9292',                             # internal glance endpoint
        '9266472252f8462caceaf60d7204eda7'],          # ctxt auth_token
    'nova__instance.evacuate': ['host2'],
    'nova__instance.create.end': ['"compute"', 'fake-mini'],
    'nova__compute.instance.exists': ['compute-host-name', '10.0.2.15'],
    'nova__compute.instance.finish_resize.end': [
        'ip-10-147-132-184.ec2.internal', '10.147.132.184'],
    'nova__compute.instance.delete.end': ['zhenyu-dev', '10.3.150.17'],
    'nova__compute.instance.create.end': ['"undercloud"', '192.0.2.1:9292'],
    'neutron__port.create.end.from-nova': [
        'binding:host_id', 'binding:vif_details', 'ovs_hybrid_plug',
        'binding:profile', '8c0b6596c5204dff868aa3c6562a3fdd',
        '431a64e5f3304b10aaf62c847cc1d3cf'],          # nova service user
    'neutron__network.create.end': [
        'provider:segmentation_id', 'vxlan', '3e3bd479441e4644bdd3819228b4e5db'],
    'cinder__volume.create.end': ['lvmdriver', '79f37a1efd4d4f97b2d354bfddb2bf86'],
    'cinder__volume.attach.end': ['lvmdriver', 'attached_host'],
    'cinder__snapshot.create.end': [
        '5058fddb9a344605bca50b8d7a0180d6', '192.168.235.1', ':8774/',
        'lvmdriver'],
    'heat__orchestration.stack.update.end': [
        '90b248db65ca0ac4e95a1aa5ca47be540f7af870',   # ctxt password
        '9266472252f8462caceaf60d7204eda7', 'auth_token_info',
        'localhost.localdomain', '192.0.2.1'],
    'heat__orchestration.stack.delete.end': [
        'MIISAwYJKoZIhvcNAQcCoII', '"password"', 'node-n5x66lxdy67d'],
    'heat__orchestration.autoscaling.error': ['heat-engine-1'],
    'glance__image.send': [
        '1.2.3.4', 'bbbbbbbb-bbbb-bbbb-bbbbbbbbbbbb',
        'dddddddd-dddd-dddd-dddddddddddd', 'images.example.com'],
    'glance__image.upload': ['"location"'],
    'keystone__identity.project.created': [
        'curl/7.22.0', '127.0.0.1', 'host1234'],
    'designate__dns.zone.create': ['7da9bc8812fb4d22ba2ce8b1f53d439a', 'ubunt'],
}

# sample -> tenant data that must still be in the stored body
TENANT_DATA = {
    'nova__instance.create.error': [
        "The created instance's disk would be too small.", 'some-server',
        '"host_name"', 'building'],
    'nova__compute.instance.create.error': [
        'ov-ifnbu77aer-1-i3nt6by46wbx-novacompute-pp4mpjceebtj', '"code": 400'],
    'nova__instance.evacuate': [
        '192.168.1.3', 'fa:16:3e:4c:2c:30', '/dev/sdb', 'rebuilding'],
    'nova__instance.create.end': ['Generated-by-Nova', 'my-key'],
    'nova__compute.instance.finish_resize.end': ['10.0.0.3', '"s1"'],
    'nova__compute.instance.create.end': ['192.0.2.19', 'ctlplane'],
    'neutron__port.create.end.from-nova': [
        '192.168.40.2', 'fa:16:3e:c1:c6:49', 'compute:None'],
    'neutron__floatingip.update.end': ['172.25.0.20', '172.40.0.6'],
    'neutron__subnet.create.end': ['192.168.40.0/24', 'test-subnet'],
    'cinder__volume.attach.end': ['/dev/vdb', 'in-use'],
    'heat__orchestration.stack.update.end': ['UPDATE_COMPLETE', 'overcloud'],
    'glance__image.send': ['"bytes_sent": 42'],
    'designate__dns.recordset.create': ['www.myzone.net.', '10.0.0.2'],
    'keystone__identity.project.created': ['created.project'],
}


def stored(rules, name: str) -> str:
    result = translation.translate(notification(name), rules)
    assert isinstance(result, translation.Routed), result
    return json.dumps(result.body)


@pytest.mark.parametrize('name,value', [
    (n, v) for n, values in OPERATOR_DATA.items() for v in values])
def test_operator_data_is_gone_from_the_stored_body(rules, name, value):
    assert value in json.dumps(SAMPLES[name]), 'test data drifted'
    assert value not in stored(rules, name)


@pytest.mark.parametrize('name,value', [
    (n, v) for n, values in TENANT_DATA.items() for v in values])
def test_tenant_data_stays_in_the_stored_body(rules, name, value):
    assert value in stored(rules, name)


@pytest.mark.parametrize('name', NAMES)
def test_no_request_context_secret_reaches_any_tenant(rules, name):
    ctxt = SAMPLES[name]['ctxt']
    secrets = [ctxt[k] for k in ('auth_token', 'password') if ctxt.get(k)]
    result = translation.translate(notification(name), rules)
    if isinstance(result, translation.Routed):
        text = json.dumps(result.body)
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize('name', NAMES)
def test_translation_never_modifies_the_notification(rules, name):
    before = copy.deepcopy(SAMPLES[name])
    translation.translate(notification(name), rules)
    assert SAMPLES[name] == before


def test_redacted_values_are_replaced_whole_and_keys_removed(rules):
    body = translation.translate(
        notification('nova__compute.instance.create.error'), rules).body
    assert body['payload']['message'] == '<redacted>'
    for key in ('host', 'node', 'exception', 'image_ref_url', 'cell_name'):
        assert key not in body['payload']


def policy(**changes) -> Redaction:
    fields = dict(keys=frozenset({'host'}), key_prefixes=('binding:',),
                  secret_keys=re.compile('token|pass(word)?', re.I),
                  values=re.compile(r'Traceback'), replacement='<x>')
    fields.update(changes)
    return Redaction(**fields)


def test_keys_and_prefixes_match_case_insensitively_at_any_depth():
    data = {'HOST': 'h1', 'a': [{'Host': 'h2', 'binding:Host_ID': 'h3',
                                 'BINDING:profile': {}, 'keep': 1}]}
    assert redaction.redact(data, policy()) == {'a': [{'keep': 1}]}


@pytest.mark.parametrize('key,dropped', [
    ('auth_token', True), ('X-Auth-Token', True), ('db_password', True),
    ('Password', True), ('hostname', False), ('host_name', False),
    ('public_key', False), ('key_name', False), ('author', False),
])
def test_secret_key_patterns_decide_per_key(key, dropped):
    assert (key not in redaction.redact({key: 'v'}, policy())) is dropped


@pytest.mark.parametrize('key,dropped', [
    ('auth_url', True), ('auth_token_info', True), ('aws_creds', True),
    ('secret_key', True), ('private_key', True), ('Authorization', True),
    ('trust_password', True), ('author', False), ('auto_disk_config', False),
    ('public_key', False), ('fingerprint', False), ('key_name', False),
    ('host_name', False), ('hostname', False), ('display_name', False),
])
def test_default_rules_secret_patterns(rules, key, dropped):
    red = redaction.Redactor(rules.redaction)
    assert (key not in red({key: 'v'})) is dropped


def test_value_patterns_replace_the_whole_string_anywhere():
    data = {'a': ['ok', 'x Traceback y'], 'b': {'c': 'Traceback'}}
    assert redaction.redact(data, policy()) == {
        'a': ['ok', '<x>'], 'b': {'c': '<x>'}}


def test_non_string_keys_and_scalars_pass_through():
    data = {1: 'a', None: [1.5, True, None], 'n': 7}
    assert redaction.redact(data, policy()) == data


def test_redaction_returns_new_containers_and_leaves_the_input_alone():
    data = {'host': 'h', 'l': [{'token': 't', 'v': 1}], 't': ('Traceback',)}
    before = copy.deepcopy(data)
    out = redaction.redact(data, policy())
    assert data == before
    assert out == {'l': [{'v': 1}], 't': ['<x>']}
    assert out['l'] is not data['l'] and out['l'][0] is not data['l'][0]


def test_empty_policy_copies_everything():
    data = {'host': 'h', 'token': 'Traceback'}
    assert redaction.redact(data, policy(
        keys=frozenset(), key_prefixes=(), secret_keys=None,
        values=None)) == data
