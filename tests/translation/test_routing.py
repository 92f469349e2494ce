"""Routing: first matching route wins; drop rules; queue templates and
queue name sanitizing."""

from __future__ import annotations

import re

import pytest

from bridge import translation
from bridge.translation import routing

from .support import default_doc, notification, route, sample

VALID_QUEUE = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')


@pytest.mark.parametrize('raw,clean', [
    ('nova-events', 'nova-events'),
    ('nova.events', 'nova-events'),
    ('instance.create.end', 'instance-create-end'),
    ('a b/c:d', 'a_b_c_d'),
    ('caf\u00e9', 'caf_'),
    ('UPPER_lower-09', 'UPPER_lower-09'),
    ('x' * 70, 'x' * 64),
    ('', ''),
])
def test_queue_names_are_sanitized_for_zaqar_clients(raw, clean):
    assert translation.sanitize_queue_name(raw) == clean


def rules_with_routes(*routes_: dict) -> translation.Rules:
    doc = default_doc()
    doc['routes'] = list(routes_)
    return translation.parse_rules(doc)


def test_template_variables_render_without_host_parts():
    rules = rules_with_routes({'queue': '{service}.{exchange}.{priority}.'
                                        '{publisher}.{event_type}'})
    result = translation.translate(
        notification('nova__instance.create.error', exchange='nova'), rules)
    assert result.queue == 'nova-nova-error-nova-compute-instance-create-error'
    assert 'compute:' not in result.queue


def test_exchange_variable_falls_back_to_the_service_when_unknown():
    rules = rules_with_routes({'queue': '{exchange}-x'})
    for exchange in (None, 'openstack'):
        result = translation.translate(
            notification('cinder__volume.create.end', exchange=exchange),
            rules)
        assert result.queue == 'cinder-x'


def test_long_queue_names_are_cut_to_64_valid_characters():
    rules = rules_with_routes({'queue': 'tenant events for {event_type} '
                                        'of {service} at {priority} level'})
    result = translation.translate(
        notification('neutron__security_group.create.end'), rules)
    assert VALID_QUEUE.match(result.queue)
    assert len(result.queue) == 64


def test_first_matching_route_wins_and_carries_its_ttl():
    rules = rules_with_routes(
        {'name': 'errors', 'match': {'priority': ['error', 'critical']},
         'queue': '{service}-errors', 'ttl': 604800},
        {'name': 'all', 'queue': '{service}-events'})
    error = translation.translate(
        notification('heat__orchestration.autoscaling.error'), rules)
    info = translation.translate(
        notification('heat__orchestration.stack.create.end'), rules)
    assert (error.queue, error.ttl) == ('heat-errors', 604800)
    assert (info.queue, info.ttl) == ('heat-events', None)


def test_routes_match_on_upper_case_and_warning_priorities():
    rules = rules_with_routes(
        {'match': {'priority': 'warn'}, 'queue': 'warnings'},
        {'queue': 'other'})
    for priority in ('WARN', 'warning', 'Warning'):
        result = translation.translate(notification(
            'cinder__volume.create.end', priority=priority), rules)
        assert result.queue == 'warnings'
        assert result.body['priority'] == 'warn'


def test_exchange_condition_needs_a_known_matching_exchange():
    rules = rules_with_routes(
        {'match': {'exchange': 'nova'}, 'queue': 'from-nova-exchange'},
        {'queue': 'other'})
    name = 'nova__instance.update'
    assert translation.translate(notification(name, exchange='nova'),
                                 rules).queue == 'from-nova-exchange'
    assert translation.translate(notification(name, exchange=None),
                                 rules).queue == 'other'
    assert translation.translate(notification(name, exchange='cinder'),
                                 rules).queue == 'other'


def test_publisher_condition_matches_globs_on_publisher_id():
    rules = rules_with_routes(
        {'match': {'publisher_id': 'nova-api:*'}, 'queue': 'api'},
        {'queue': 'other'})
    assert translation.translate(notification('nova__instance.evacuate'),
                                 rules).queue == 'api'
    assert translation.translate(notification('nova__instance.update'),
                                 rules).queue == 'other'


def test_drop_rule_drops_on_purpose_even_without_owner():
    rules = rules_with_routes(
        {'name': 'no-flavors', 'match': {'event_type': 'flavor.*'},
         'drop': True},
        {'queue': '{service}-events'})
    assert translation.translate(notification('nova__flavor.create'),
                                 rules) == translation.Dropped('no-flavors')


def test_legacy_nova_drop_rule_spares_versioned_events():
    doc = default_doc()
    route(doc, 'drop-legacy-nova')['enabled'] = True
    rules = translation.parse_rules(doc)
    legacy = translation.translate(
        notification('nova__compute.instance.create.end'), rules)
    versioned = translation.translate(
        notification('nova__instance.create.end'), rules)
    assert legacy == translation.Dropped('drop-legacy-nova')
    assert isinstance(versioned, translation.Routed)


def test_unnamed_drop_rule_is_reported_by_index():
    rules = rules_with_routes({'queue': 'x', 'match': {'event_type': 'a.*'}},
                              {'drop': True})
    assert translation.translate(notification('nova__instance.update'),
                                 rules) == translation.Dropped('routes[1]')


def test_no_matching_route_dead_letters_instead_of_dropping():
    rules = rules_with_routes({'match': {'event_type': 'volume.*'},
                               'queue': 'volumes'})
    result = translation.translate(notification('nova__instance.update'),
                                   rules)
    assert isinstance(result, translation.Unroutable)
    assert "no routing rule matches event_type 'instance.update'" \
        in result.reason


def test_template_that_renders_empty_dead_letters():
    rules = rules_with_routes({'queue': '{priority}'})
    result = translation.translate(
        notification('cinder__volume.create.end', priority=''), rules)
    assert isinstance(result, translation.Unroutable)
    assert 'empty queue name' in result.reason


def test_route_lookups_are_remembered_per_rules_object(rules):
    found = routing.find_route(rules, 'volume.create.end', None, 'volume.h',
                               'info')
    assert found is routing.find_route(rules, 'volume.create.end', None,
                                       'volume.h', 'info')
    assert found.name == 'per-service'


def test_every_default_queue_name_is_valid(rules):
    s = sample('neutron__port.create.end')
    s['ctxt'] = {'project_id': 'p-tenant', 'roles': ['member']}
    for event_type in ('port.create.end', 'x' * 200, 'a.b.c', '*?[]'):
        s['event_type'] = event_type
        result = translation.translate(notification(s), rules)
        assert VALID_QUEUE.match(result.queue), result.queue
