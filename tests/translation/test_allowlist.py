"""Allow-list paths and free-text scrubbing, as units."""

from __future__ import annotations

import pytest

from bridge import translation
from bridge.translation import allowlist, scrub
from bridge.translation.ruleset import Redaction
from bridge.translation.tenantview import TenantView

from .support import default_doc, family, notification, sample


#: No deny-list: what the allow-list alone keeps.
NO_DENY = Redaction(keys=frozenset(), key_prefixes=(), secret_keys=None,
                    values=None, replacement='<r>',
                    address_keys=frozenset(['ip_address']))


def view(paths, payload, free_text=()):
    node = allowlist.compile_paths(paths, free_text)
    return TenantView(NO_DENY)(payload, node, 'compute.cmp-1')


@pytest.mark.parametrize('text,keys', [
    ('a', ['a']),
    ("'nova_object.data'.uuid", ['nova_object.data', 'uuid']),
    ('port.fixed_ips[*].ip_address', ['port', 'fixed_ips', 'ip_address']),
    ("'*_id'", ['*_id']),
    ('*.id', ['*', 'id']),
])
def test_paths_are_keys_separated_by_dots(text, keys):
    assert allowlist.parse_path(text) == keys


@pytest.mark.parametrize('text', ['', 'a..b', "'open", 'a b', '.a', 'a.'])
def test_unreadable_paths_are_refused(text):
    with pytest.raises(allowlist.PathError):
        allowlist.parse_path(text)


def test_only_allowed_fields_are_kept_and_lists_are_walked():
    payload = {'port': {'id': 'p1', 'binding': 'x', 'fixed_ips': [
        {'ip_address': '10.0.0.5', 'secret': 's'}]}, 'other': 1}
    assert view(['port.id', 'port.fixed_ips[*].ip_address'], payload) == {
        'port': {'id': 'p1', 'fixed_ips': [{'ip_address': '10.0.0.5'}]}}


def test_globs_match_keys_and_union_with_named_keys():
    payload = {'a_id': 1, 'b_id': 2, 'name': 'n', 'obj': {'x': 1, 'y': 2}}
    assert view(["'*_id'", 'obj.x', '*.y'], payload) == {
        'a_id': 1, 'b_id': 2, 'obj': {'x': 1, 'y': 2}}


def test_a_star_reads_the_bulk_form_too():
    payload = {'ports': [{'id': 'a', 'host': 'h'}, {'id': 'b'}]}
    assert view(['*.id'], payload) == {'ports': [{'id': 'a'}, {'id': 'b'}]}


def test_the_value_at_the_end_of_a_path_is_kept_whole():
    payload = {'metadata': {'k': 'v', 'n': {'deep': 1}}, 'tags': ['a']}
    assert view(['metadata', 'tags'], payload) == payload


def test_free_text_fields_are_scrubbed_and_kept():
    assert view(['ip_address'], {'message': 'boom on cmp-1 at 10.0.0.5 and '
                                            '10.0.0.6', 'x': 1,
                                 'ip_address': '10.0.0.5'}, ['message']) == {
        'message': 'boom on <r> at 10.0.0.5 and <r>',
        'ip_address': '10.0.0.5'}


def test_the_input_is_never_modified():
    payload = {'a': {'b': 'on 10.1.1.1', 'c': [{'d': 1, 'e': 2}]}}
    before = repr(payload)
    view(['a.c.d'], payload, ['a.b'])
    assert repr(payload) == before


def test_a_bad_allow_path_names_the_family_and_the_field():
    doc = default_doc()
    family(doc, 'heat')['allow'] = ['stack_name', "'unclosed"]
    with pytest.raises(translation.RulesError) as error:
        translation.parse_rules(doc, 'x.yaml')
    assert 'families[3] (heat).allow[1]' in str(error.value)


def test_a_family_without_a_list_gets_the_generic_one_not_the_payload(
        rules):
    s = sample('cinder__volume.create.end')
    s['event_type'] = 'magnum.cluster.update'
    s['payload'] = {'project_id': 'p1', 'id': 'c1', 'name': 'k8s',
                    'status': 'UPDATE_FAILED', 'node_count': 3,
                    'master_addresses': ['10.0.0.9'],
                    'status_reason': 'heat stack on 10.0.0.9 failed',
                    'cluster': {'uuid_id': 'u', 'api_address': 'x'}}
    payload = translation.translate(notification(s), rules).body['payload']
    assert payload == {'project_id': 'p1', 'id': 'c1', 'name': 'k8s',
                       'status': 'UPDATE_FAILED',
                       'status_reason': 'heat stack on <redacted> failed',
                       'cluster': {'uuid_id': 'u'}}


@pytest.mark.parametrize('text,expected', [
    ('target 10.20.30.40:3260 failed', 'target <r> failed'),
    ('v6 [2001:db8::1]:80 and fe80::1%eth0.', 'v6 <r> and <r>.'),
    ('mac fa:16:3e:c1:c6:49 at 13:42:05', 'mac fa:16:3e:c1:c6:49 at 13:42:05'),
    ('on cinder-vol-01.internal now', 'on <r> now'),
    ('see db1.example.com.', 'see <r>'),
    ('Resource CREATE failed: resources.server: Went to ERROR',
     'Resource CREATE failed: resources.server: Went to ERROR'),
    ('url mysql+pymysql://nova:pw@db/nova?x=1 down', 'url <r> down'),
    ('boom\nTraceback (most recent call last):\n  File "x.py", line 1',
     'boom\n<r>'),
    ('stays: 192.168.0.5', 'stays: 192.168.0.5'),
    ('host cmp-7 and cmp-7.example.net', 'host <r> and <r>'),
])
def test_scrubbing_free_text(text, expected):
    scrubber = scrub.Scrubber('<r>', own=frozenset(['192.168.0.5']),
                              hosts=scrub.host_names('compute.cmp-7', []))
    assert scrubber.text(text) == expected


def test_hosts_come_from_the_publisher_and_host_fields():
    assert scrub.host_names('volume.devstack@lvmdriver-1',
                            ['cmp-3.example.net', None, 7]) == (
        'cmp-3.example.net', 'lvmdriver-1', 'devstack', 'cmp-3')


def test_the_shipped_generic_lists_are_the_built_in_defaults():
    from bridge.translation import ruleset
    redaction = default_doc()['redaction']
    assert redaction['generic_allow'] == list(ruleset.GENERIC_ALLOW)
    assert redaction['generic_free_text'] == list(ruleset.GENERIC_FREE_TEXT)
    assert redaction['tenant_address_keys'] == list(ruleset.ADDRESS_KEYS)
    assert redaction['host_keys'] == list(ruleset.HOST_KEYS)
