"""Owner resolution: payload first, then the ownership index; the request
context only as a fallback, never an operator's (operator projects, admin
or service roles); owners that are not project ids are refused."""

from __future__ import annotations

import pytest

from bridge import translation
from bridge.translation import tenant

from .support import default_doc, family, notification, sample

DELETE = 'neutron__network.delete.end'           # payload: network_id only
OWNER = '5fe7c4e4e492490393c674089a178e19'


NETWORK = ('neutron:network', '7a95c19d-9abc-4651-b491-f2345994e956')


def owner_of(rules, n, owners=None):
    result = translation.translate(n, rules, owners or {})
    return result.project_id if isinstance(result, translation.Routed) \
        else result


def as_tenant(name, roles=('member', 'reader')):
    """Sample ``name`` acted on by its tenant itself (not an admin)."""
    s = sample(name)
    s['ctxt'] = dict(s['ctxt'], roles=list(roles), is_admin=False,
                     project_name='demo', tenant_name='demo')
    return s


def test_a_tenants_own_context_is_the_fallback_when_nothing_else_names_one(
        rules):
    assert owner_of(rules, notification(as_tenant(DELETE))) == OWNER


@pytest.mark.parametrize('roles', [['admin'], ['member', 'service'],
                                   ['Admin']])
def test_a_context_with_an_operator_role_never_names_the_owner(rules, roles):
    result = translation.translate(notification(as_tenant(DELETE, roles)),
                                   rules)
    assert isinstance(result, translation.Unroutable)
    assert result.reason.startswith('owner unknown')
    assert 'operator (role' in result.reason


def test_the_ownership_index_comes_before_the_context(rules):
    n = notification(as_tenant(DELETE))
    assert owner_of(rules, n, {NETWORK: 'the-owner'}) == 'the-owner'
    admin = notification(DELETE)  # the sample's context is an admin's
    assert owner_of(rules, admin, {NETWORK: 'the-owner'}) == 'the-owner'


def test_the_payload_owner_comes_before_the_ownership_index(rules):
    n = notification('neutron__network.create.end')
    assert owner_of(rules, n, {NETWORK: 'someone-else'}) == OWNER


def test_deny_listed_context_project_id_is_never_an_owner():
    doc = default_doc()
    doc['tenant']['context_deny_projects'] = [OWNER]
    result = translation.translate(notification(as_tenant(DELETE)),
                                   translation.parse_rules(doc))
    assert isinstance(result, translation.Unroutable)
    assert 'operator project %s' % OWNER in result.reason


def test_operator_projects_extend_the_deny_list(rules):
    result = translation.translate(notification(as_tenant(DELETE)),
                                   rules.with_denied_projects([OWNER]))
    assert isinstance(result, translation.Unroutable)
    assert result.reason.startswith('owner unknown')
    assert owner_of(rules, notification(as_tenant(DELETE))) == OWNER


@pytest.mark.parametrize('key', ['project_name', 'tenant_name'])
def test_service_project_context_is_denied_by_name(rules, key):
    s = sample(DELETE)
    s['ctxt'] = {'project_id': 'be59108da5704e14a37827f74deeb3ac',
                 key: 'service'}
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Unroutable)
    assert "name 'service'" in result.reason


def test_payload_owner_wins_over_a_deny_listed_context(rules):
    # nova's service user (project "service") creates the tenant's port
    n = notification('neutron__port.create.end.from-nova')
    assert owner_of(rules, n) == OWNER


def test_families_without_context_fallback_never_use_the_context(rules):
    s = sample('nova__keypair.create.end')
    s['ctxt'] = {'project_id': 'a' * 32, 'request_id': 'req-1'}
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Unroutable)
    assert "family 'nova-operator' does not fall back" in result.reason


def test_operator_events_with_an_admin_context_reach_no_tenant(rules):
    s = sample('nova__flavor.create')
    s['ctxt'] = {'project_id': 'f' * 32, 'is_admin': True}
    assert isinstance(translation.translate(notification(s), rules),
                      translation.Unroutable)


def test_heat_context_reads_tenant_id_never_the_tenant_name(rules):
    s = as_tenant('heat__orchestration.stack.update.end')
    del s['payload']['tenant_id']
    assert owner_of(rules, notification(s)) == s['ctxt']['tenant_id']
    s['ctxt'] = {'tenant': 'admin'}
    assert isinstance(owner_of(rules, notification(s)),
                      translation.Unroutable)


def test_designate_context_tenant_is_its_project_id(rules):
    s = as_tenant('designate__dns.zone.update')
    del s['payload']['tenant_id']
    assert owner_of(rules, notification(s)) == s['ctxt']['tenant']


def test_context_without_project_gives_no_owner(rules):
    s = as_tenant('nova__compute.instance.exists')  # ctxt project_id null
    del s['payload']['tenant_id']
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Unroutable)
    assert 'nor the request context' in result.reason


def test_first_non_empty_owner_path_wins(rules):
    s = sample('cinder__volume.create.end')
    s['payload']['tenant_id'] = ''
    s['payload']['project_id'] = 'p-from-project-id'
    assert owner_of(rules, notification(s)) == 'p-from-project-id'
    s['payload']['tenant_id'] = None
    assert owner_of(rules, notification(s)) == 'p-from-project-id'


@pytest.mark.parametrize('value', [
    42, {'id': 'x'}, ['a', 'b'], True, 'two words', 'x' * 65, 'None',
    'a/b', '\u00e9t\u00e9'])
def test_owner_that_is_not_a_project_id_is_refused(rules, value):
    s = sample('cinder__volume.create.end')
    s['payload']['tenant_id'] = value
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Unroutable)
    assert 'not a project id' in result.reason


@pytest.mark.parametrize('value', [
    '1816a16093df465dbc609cf638422a05', 'fake', 'test_tenant_id',
    'eeeeeeee-eeee-eeee-eeeeeeeeeeee', 'x' * 64])
def test_project_ids_of_every_shape_in_use_are_accepted(value):
    assert tenant.is_project_id(value)


def bulk(*projects):
    s = sample('neutron__port.create.end')
    port = s['payload'].pop('port')
    s['payload']['ports'] = [dict(port, tenant_id=p) for p in projects]
    return notification(s)


def test_bulk_payload_of_one_project_is_routed_to_it(rules):
    assert owner_of(rules, bulk('p1', 'p1')) == 'p1'


def test_bulk_payload_of_several_projects_is_ambiguous(rules):
    result = translation.translate(bulk('p1', 'p2'), rules)
    assert isinstance(result, translation.Unroutable)
    assert 'ambiguous owner' in result.reason


def test_domain_role_assignment_reaches_no_tenant(rules):
    s = sample('keystone__identity.role_assignment.created')
    del s['payload']['project']
    s['payload']['domain'] = 'default'
    assert isinstance(translation.translate(notification(s), rules),
                      translation.Unroutable)


def test_image_downloader_is_never_the_owner(rules):
    s = sample('glance__image.send')
    del s['payload']['owner_id']
    assert isinstance(translation.translate(notification(s), rules),
                      translation.Unroutable)


def test_image_member_is_never_the_owner(rules):
    s = sample('glance__image.member.create')
    s['ctxt'] = {'project_id': s['payload']['member_id']}
    assert isinstance(translation.translate(notification(s), rules),
                      translation.Unroutable)


def test_event_of_no_family_is_dead_lettered():
    doc = default_doc()
    doc['families'] = [family(doc, 'heat')]
    result = translation.translate(notification('cinder__volume.create.end'),
                                   translation.parse_rules(doc))
    assert isinstance(result, translation.Unroutable)
    assert 'no event family' in result.reason


def test_unknown_service_events_use_the_usual_owner_keys(rules):
    s = sample('cinder__volume.create.end')
    s['event_type'] = 'octavia.loadbalancer.create.end'
    s['publisher_id'] = 'octavia.host1'
    s['payload'] = {'id': 'lb-1', 'project_id': 'p-octavia'}
    result = translation.translate(notification(s), rules)
    assert result.project_id == 'p-octavia'
    assert result.body['service'] == 'octavia'
    assert result.body['resource_id'] == 'lb-1'


def test_bare_metal_events_reach_no_tenant(rules):
    s = sample('cinder__volume.create.end')
    s.update(event_type='baremetal.node.power_set.end',
             publisher_id='ironic-conductor.host1',
             payload={'ironic_object.data': {'owner': 'p1', 'uuid': 'n1'}},
             ctxt={'project_id': 'p-admin'})
    result = translation.translate(notification(s), rules)
    assert isinstance(result, translation.Unroutable)
    assert "'ironic-operator'" in result.reason
