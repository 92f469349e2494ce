"""The rules file: the shipped default loads, and every mistake an operator
can make is refused with a message naming the file, the rule and the
field."""

from __future__ import annotations

import os

import pytest
import yaml

from bridge import translation
from bridge.translation import ruleset

from .support import default_doc, family, notification, route

REPO = os.path.join(os.path.dirname(__file__), '..', '..')


def test_shipped_etc_rules_file_is_the_packaged_default():
    with open(os.path.join(REPO, 'etc', 'bridge', 'rules.yaml'), 'rb') as f:
        etc = f.read()
    with open(translation.default_rules_path(), 'rb') as f:
        packaged = f.read()
    assert etc == packaged


def test_default_rules_path_is_inside_the_package():
    path = translation.default_rules_path()
    assert os.path.isfile(path)
    assert os.path.dirname(path) == os.path.dirname(
        os.path.abspath(translation.__file__))


def test_default_rules_load(rules):
    assert isinstance(rules, translation.Rules)
    assert rules.source == translation.default_rules_path()
    assert [r.name for r in rules.routes] == ['per-service']  # drop disabled
    assert 'service' in rules.context_deny_project_names


def test_parse_rules_accepts_a_document_and_names_its_source():
    parsed = translation.parse_rules(default_doc(), source='mine.yaml')
    assert parsed.source == 'mine.yaml'


def test_rules_are_immutable(rules):
    with pytest.raises(AttributeError):
        rules.routes = ()  # type: ignore[misc]


def test_with_denied_projects_returns_new_rules_and_keeps_the_original(rules):
    more = rules.with_denied_projects(['p1', ''])
    assert 'p1' in more.context_deny_projects
    assert '' not in more.context_deny_projects
    assert 'p1' not in rules.context_deny_projects


def write(tmp_path, doc, name='rules.yaml') -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else
                    yaml.dump(doc, Dumper=yaml.CSafeDumper))
    return str(path)


def error_of(tmp_path, doc) -> str:
    path = write(tmp_path, doc)
    with pytest.raises(translation.RulesError) as err:
        translation.load_rules(path)
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    assert message.startswith(path + ': ')
    return message


def edit(change) -> dict:
    doc = default_doc()
    change(doc)
    return doc


def test_missing_file_is_named(tmp_path):
    path = str(tmp_path / 'nope.yaml')
    with pytest.raises(translation.RulesError, match='nope.yaml: cannot read'):
        translation.load_rules(path)


def test_yaml_syntax_error_names_the_file(tmp_path):
    message = error_of(tmp_path, 'routes: [\n  - {name: x\n')
    assert 'not valid YAML' in message


def test_empty_file_is_refused(tmp_path):
    assert 'empty' in error_of(tmp_path, '')


@pytest.mark.parametrize('version', [2, '1', True, None])
def test_unsupported_version(tmp_path, version):
    message = error_of(tmp_path, edit(lambda d: d.update(version=version)))
    assert 'version' in message


@pytest.mark.parametrize('change,expected', [
    (lambda d: d.update(routing=[]),
     "top level: unknown key 'routing'"),
    (lambda d: d.pop('redaction'),
     "top level: missing required key 'redaction'"),
    (lambda d: route(d, 'per-service').update(qeue='x'),
     "routes[1] (per-service): unknown key 'qeue' (expected one of: drop, "
     "enabled, match, name, queue, ttl)"),
    (lambda d: family(d, 'heat').update(owners=[]),
     "families[3] (heat): unknown key 'owners'"),
    (lambda d: route(d, 'per-service')['match'].update(event='*'),
     "routes[1] (per-service).match: unknown key 'event'"),
    (lambda d: d['redaction'].update(key=[]),
     "redaction: unknown key 'key'"),
    (lambda d: d['tenant'].update(deny=[]),
     "tenant: unknown key 'deny'"),
])
def test_unknown_or_missing_keys_are_named(tmp_path, change, expected):
    assert expected in error_of(tmp_path, edit(change))


@pytest.mark.parametrize('glob,problem', [
    ('compute.[instance', 'unclosed "["'),
    ('compute.instance]', '"]" without "["'),
    ('compute instance', 'whitespace'),
    ('', 'non-empty string'),
    (5, 'non-empty string'),
])
def test_bad_globs_are_refused(tmp_path, glob, problem):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'per-service')['match'].update(event_type=['*', glob])))
    assert 'routes[1] (per-service).match.event_type[1]' in message
    assert problem in message


def test_empty_glob_list_is_refused(tmp_path):
    message = error_of(tmp_path, edit(lambda d: family(
        d, 'trove')['match'].update(publisher_id=[])))
    assert 'families[15] (trove).match.publisher_id: must not be empty' \
        in message


@pytest.mark.parametrize('template,problem', [
    ('{tenant}-events', 'unknown template variable {tenant}'),
    ('{service.name}', 'unknown template variable {service.name}'),
    ('{service[0]}', 'unknown template variable {service[0]}'),
    ('{}-events', 'unknown template variable {}'),
    ('{service:>10}', 'takes no conversion or format spec'),
    ('{service!r}', 'takes no conversion or format spec'),
    ('{service-events', 'bad template'),
    ('', 'non-empty string'),
    (None, 'non-empty string'),
])
def test_bad_queue_templates_are_refused(tmp_path, template, problem):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'per-service').update(queue=template)))
    assert 'routes[1] (per-service).queue' in message
    assert problem in message


@pytest.mark.parametrize('ttl', [-5, 0, 'ten', 1.5, True, 10 ** 12])
def test_bad_ttls_are_refused(tmp_path, ttl):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'per-service').update(ttl=ttl)))
    assert 'routes[1] (per-service).ttl: must be a whole number of seconds' \
        in message
    assert repr(ttl) in message


def test_drop_rule_takes_no_ttl(tmp_path):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'drop-legacy-nova').update(ttl=60)))
    assert 'routes[0] (drop-legacy-nova).ttl: a drop rule takes no ttl' \
        in message


@pytest.mark.parametrize('change', [
    lambda r: r.update(drop=True),   # queue and drop
    lambda r: r.pop('queue'),        # neither
])
def test_route_needs_exactly_one_of_queue_or_drop(tmp_path, change):
    message = error_of(tmp_path, edit(lambda d: change(
        route(d, 'per-service'))))
    assert 'routes[1] (per-service): needs exactly one of' in message


def test_unnamed_route_is_named_by_its_index(tmp_path):
    message = error_of(tmp_path, edit(lambda d: d['routes'].append(
        {'queue': '{bad}'})))
    assert 'routes[2].queue: unknown template variable {bad}' in message


@pytest.mark.parametrize('paths,problem', [
    (['$.payload['], 'invalid JSONPath'),
    (['$.ctxt.project_id'], 'must start with $.payload'),
    (['$..tenant_id'], 'must start with $.payload'),
    ([3], 'non-empty string'),
    ('$.payload.x y', 'invalid JSONPath'),
])
def test_bad_owner_paths_are_refused(tmp_path, paths, problem):
    message = error_of(tmp_path, edit(lambda d: family(
        d, 'heat').update(owner=paths)))
    assert 'families[3] (heat).owner' in message
    assert problem in message


def test_context_paths_must_read_the_context(tmp_path):
    message = error_of(tmp_path, edit(lambda d: d['tenant'].update(
        context_paths=['$.payload.tenant_id'])))
    assert 'tenant.context_paths[0]' in message
    assert 'must start with $.ctxt' in message


def test_duplicate_family_names_are_refused(tmp_path):
    message = error_of(tmp_path, edit(lambda d: d['families'].append(
        {'name': 'heat', 'owner': []})))
    assert "duplicate family name 'heat'" in message


def test_family_needs_an_owner_list(tmp_path):
    message = error_of(tmp_path, edit(lambda d: family(d, 'heat').pop(
        'owner')))
    assert "families[3] (heat): missing required key 'owner'" in message


@pytest.mark.parametrize('service', ['Nova Compute', '', 7, 'x' * 40])
def test_bad_family_service_is_refused(tmp_path, service):
    message = error_of(tmp_path, edit(lambda d: family(d, 'heat').update(
        service=service)))
    assert 'families[3] (heat).service' in message


def test_unknown_priority_is_refused(tmp_path):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'per-service')['match'].update(priority=['info', 'verbose'])))
    assert "match.priority[1]: unknown priority 'verbose'" in message


def test_non_boolean_flags_are_refused(tmp_path):
    message = error_of(tmp_path, edit(lambda d: route(
        d, 'drop-legacy-nova').update(enabled='no')))
    assert 'routes[0] (drop-legacy-nova).enabled: must be true or false' \
        in message


@pytest.mark.parametrize('section,pattern', [
    ('value_patterns', '(unclosed'),
    ('value_patterns', 'a(?i)b'),          # global flag in the middle
    ('secret_key_patterns', '*token'),
])
def test_bad_redaction_regexes_are_refused(tmp_path, section, pattern):
    message = error_of(tmp_path, edit(lambda d: d['redaction'][
        section].append(pattern)))
    assert 'redaction.%s[' % section in message
    assert 'invalid regular expression' in message


def test_wrong_shapes_say_what_they_got(tmp_path):
    assert 'routes: must be a list, got dict' in error_of(
        tmp_path, edit(lambda d: d.update(routes={})))
    assert 'families[0]: must be a mapping, got string' in error_of(
        tmp_path, edit(lambda d: d['families'].insert(0, 'nova')))
    assert '.match: must be a mapping, got null' in error_of(
        tmp_path, edit(lambda d: route(d, 'per-service').update(match=None)))


def test_disabled_routes_are_left_out_and_enabled_ones_kept():
    doc = default_doc()
    route(doc, 'drop-legacy-nova')['enabled'] = True
    parsed = translation.parse_rules(doc)
    assert [r.name for r in parsed.routes] == ['drop-legacy-nova',
                                               'per-service']
    result = translation.translate(
        notification('nova__compute.instance.exists'), parsed)
    assert result == translation.Dropped(rule='drop-legacy-nova')


def test_template_variables_are_documented_in_the_shipped_file():
    with open(translation.default_rules_path()) as f:
        text = f.read()
    for name in ruleset.TEMPLATE_VARIABLES:
        assert '{%s}' % name in text
