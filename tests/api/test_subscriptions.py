"""Subscriptions: create (201 + secret once), list, show, update, delete,
confirm; validation and the SSRF guard (400), 404, 409, project
isolation, purge.

Webhook URLs use literal public addresses (93.184.216.34, 8.8.8.8) so no
DNS server is needed; mailto: domains are never resolved.
"""

from __future__ import annotations

import base64
from typing import Any, Callable

import pytest
from oslo_config import cfg
from oslo_policy import opts as policy_opts

from .support import Api, assert_error

S = '/v2/queues/q1/subscriptions'
HOOK = 'http://93.184.216.34:8080/hook'
OTHER_HOOK = 'https://8.8.8.8/other'


def subscribe(api: Api, subscriber: str = HOOK, queue: str = 'q1',
              **fields: Any) -> str:
    resp = api.post('/v2/queues/%s/subscriptions' % queue,
                    json=dict(fields, subscriber=subscriber))
    assert resp.status_code == 201, resp.text
    return resp.json['subscription_id']


def listed_ids(api: Api, path: str = S) -> list[str]:
    resp = api.get(path)
    assert resp.status_code == 200, resp.text
    return [s['id'] for s in resp.json['subscriptions']]


# -- create and show -------------------------------------------------------------

def test_subscribe_returns_201_with_id_secret_and_location(api: Api) -> None:
    resp = api.post(S, json={'subscriber': HOOK, 'ttl': 600,
                             'options': {'event_types': ['compute.*']}})
    assert resp.status_code == 201
    assert set(resp.json) == {'subscription_id', 'secret',
                              'standard_webhooks_secret'}
    sub_id = resp.json['subscription_id']
    assert resp.headers['location'] == S + '/' + sub_id
    assert isinstance(resp.json['secret'], str)
    assert len(resp.json['secret']) >= 43  # 32 random bytes, base64url
    # The same key in the form Standard Webhooks verifiers take.
    whsec = resp.json['standard_webhooks_secret']
    assert whsec.startswith('whsec_')
    assert base64.b64decode(whsec[6:]) == resp.json['secret'].encode()


def test_a_mail_subscription_gets_no_standard_webhooks_secret(
        api: Api) -> None:
    resp = api.post(S, json={'subscriber': 'mailto:ops@example.com'})
    assert set(resp.json) == {'subscription_id', 'secret'}


@pytest.mark.parametrize('options', [
    {'webhook_format': 'cloudevents'}, {'webhook_format': 'zaqar'},
    {'standard_webhooks': True},
    {'webhook_format': 'cloudevents', 'standard_webhooks': False}])
def test_webhook_format_options_are_kept(api: Api,
                                         options: dict[str, Any]) -> None:
    sub_id = subscribe(api, options=options)
    assert api.get(S + '/' + sub_id).json['options'] == options


@pytest.mark.parametrize('body', [
    {'subscriber': HOOK, 'options': {'webhook_format': 'CloudEvents'}},
    {'subscriber': HOOK, 'options': {'webhook_format': None}},
    {'subscriber': HOOK, 'options': {'webhook_format': 'xml'}},
    {'subscriber': HOOK, 'options': {'standard_webhooks': 'true'}},
    {'subscriber': HOOK, 'options': {'standard_webhooks': 1}},
    {'subscriber': 'mailto:a@example.com',
     'options': {'webhook_format': 'cloudevents'}},
    {'subscriber': 'mailto:a@example.com',
     'options': {'standard_webhooks': True}},
])
def test_invalid_webhook_format_options_are_400(api: Api,
                                                body: dict[str, Any]) -> None:
    assert_error(api.post(S, json=body), 400)
    assert listed_ids(api) == []


def test_patch_keeps_webhook_options_off_mail_subscribers(api: Api) -> None:
    mail = S + '/' + subscribe(api, 'mailto:a@example.com')
    assert_error(api.patch(mail, json={'options': {
        'standard_webhooks': True}}), 400)
    hook = S + '/' + subscribe(api, options={'webhook_format': 'cloudevents'})
    assert_error(api.patch(hook, json={'subscriber': 'mailto:b@example.com'}),
                 400)
    assert api.patch(hook, json={'subscriber': 'mailto:b@example.com',
                                 'options': {}}).status_code == 204
    assert api.get(hook).json['options'] == {}


def test_subscription_reads_back_with_zaqar_fields_and_delivery_status(
        api: Api) -> None:
    sub_id = subscribe(api, ttl=600, options={'event_types': ['compute.*'],
                                              'subject': 'x'})
    resp = api.get(S + '/' + sub_id)
    assert resp.status_code == 200
    doc = resp.json
    assert 0 <= doc['age'] <= 5
    assert doc == {
        'id': sub_id, 'source': 'q1', 'subscriber': HOOK, 'ttl': 600,
        'age': doc['age'],
        'options': {'event_types': ['compute.*'], 'subject': 'x'},
        'confirmed': True,
        'delivery': {'last_success': None, 'last_error': None,
                     'last_error_at': None, 'failures': 0}}


def test_secret_is_shown_only_in_the_create_response(api: Api) -> None:
    first = api.post(S, json={'subscriber': HOOK}).json
    second = api.post(S, json={'subscriber': OTHER_HOOK}).json
    assert first['secret'] != second['secret']
    shown = api.get(S + '/' + first['subscription_id']).text + \
        api.get(S).text
    assert 'secret' not in shown
    assert first['secret'] not in shown and second['secret'] not in shown


def test_ttl_and_options_default_when_missing_or_null(api: Api) -> None:
    for body in ({'subscriber': HOOK},
                 {'subscriber': OTHER_HOOK, 'ttl': None, 'options': None}):
        resp = api.post(S, json=body)
        assert resp.status_code == 201, resp.text
        doc = api.get(S + '/' + resp.json['subscription_id']).json
        assert (doc['ttl'], doc['options']) == (3600, {})


def test_default_ttl_comes_from_the_notifier_options(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('default_subscription_ttl', 120, group='notifier')
    api = make_api()
    assert api.get(S + '/' + subscribe(api)).json['ttl'] == 120


def test_mailto_subscriber_is_accepted_without_resolving_its_domain(
        api: Api) -> None:
    sub_id = subscribe(api, 'mailto:ops@mail.invalid?subject=Alerts')
    assert api.get(S + '/' + sub_id).json['subscriber'] == \
        'mailto:ops@mail.invalid?subject=Alerts'


def test_zaqar_retry_policy_and_filters_are_kept(api: Api) -> None:
    options = {'event_types': ['compute.instance.*', 'volume.create.end'],
               '_retry_policy': {'retries_with_no_delay': 1,
                                 'minimum_delay_retries': 2,
                                 'minimum_delay': 5, 'maximum_delay': 30.5,
                                 'maximum_delay_retries': 2,
                                 'max_retries': 3,
                                 'retry_backoff_function': 'linear',
                                 'ignore_subscription_override': False},
               'anything': {'else': True}}
    sub_id = subscribe(api, options=options)
    assert api.get(S + '/' + sub_id).json['options'] == options


# -- create: refusals ------------------------------------------------------------

@pytest.mark.parametrize('body', [
    {}, {'ttl': 600},
    {'subscriber': None}, {'subscriber': ''}, {'subscriber': 42},
    {'subscriber': 'ftp://93.184.216.34/x'},
    {'subscriber': 'file:///etc/passwd'},
    {'subscriber': 'trust+http://93.184.216.34/x'},
    {'subscriber': 'http://user:pw@93.184.216.34/x'},
    {'subscriber': 'http:///no-host'},
    {'subscriber': 'mailto:not-an-address'},
    {'subscriber': 'mailto:a@example.com?bcc=b@example.com'},
    {'subscriber': HOOK + '/' + 'x' * 2048},
    {'subscriber': HOOK, 'ttl': 59}, {'subscriber': HOOK, 'ttl': 0},
    {'subscriber': HOOK, 'ttl': 365 * 24 * 3600 + 1},
    {'subscriber': HOOK, 'ttl': '600'}, {'subscriber': HOOK, 'ttl': True},
    {'subscriber': HOOK, 'ttl': 600.5},
    {'subscriber': HOOK, 'options': []},
    {'subscriber': HOOK, 'options': 'x'},
    {'subscriber': HOOK, 'options': {'event_types': 'compute.*'}},
    {'subscriber': HOOK, 'options': {'event_types': ['ok', '']}},
    {'subscriber': HOOK, 'options': {'event_types': [1]}},
    {'subscriber': HOOK, 'options': {'subject': 'a\r\nBcc: x@example.com'}},
    {'subscriber': HOOK, 'options': {'subject': 5}},
    {'subscriber': HOOK, 'options': {'_retry_policy': 3}},
    {'subscriber': HOOK, 'options': {'_retry_policy': {'retries': 3}}},
    {'subscriber': HOOK, 'options': {'_retry_policy': {'max_retries': -1}}},
    {'subscriber': HOOK, 'options': {'_retry_policy': {'max_retries': 1.5}}},
    {'subscriber': HOOK,
     'options': {'_retry_policy': {'minimum_delay': -0.5}}},
    {'subscriber': HOOK,
     'options': {'_retry_policy': {'maximum_delay': True}}},
    {'subscriber': HOOK,
     'options': {'_retry_policy': {'ignore_subscription_override': 1}}},
    {'subscriber': HOOK,
     'options': {'_retry_policy': {'retry_backoff_function': 1}}},
    {'subscriber': HOOK, 'options': {'big': 'x' * 16 * 1024}},
    [HOOK], 'subscriber',
])
def test_invalid_subscription_is_400_and_nothing_is_created(
        api: Api, body: Any) -> None:
    assert_error(api.post(S, json=body), 400)
    assert listed_ids(api) == []


@pytest.mark.parametrize('raw', [b'', b'{', b'{"subscriber": NaN}'])
def test_missing_or_malformed_body_is_400(api: Api, raw: bytes) -> None:
    resp = api.post(S, body=raw,
                    headers={'Content-Type': 'application/json'})
    assert_error(resp, 400)


@pytest.mark.parametrize('url, reason', [
    ('http://127.0.0.1:8080/hook', 'loopback'),
    ('http://169.254.169.254/latest/meta-data/', 'link-local'),
    ('http://10.0.0.1/hook', 'private'),
    ('http://192.168.0.10/hook', 'private'),
    ('http://localhost:5000/hook', 'loopback'),
    ('http://[::1]/hook', 'loopback'),
    ('http://[::ffff:10.1.2.3]/hook', 'private'),
])
def test_internal_webhook_destinations_are_refused_by_default(
        api: Api, url: str, reason: str) -> None:
    resp = api.post(S, json={'subscriber': url})
    assert_error(resp, 400)
    assert reason in resp.json['description']
    assert listed_ids(api) == []


@pytest.mark.parametrize('url', [
    'https://unresolvable-host.invalid/hook',
    'http://hooks.bridge-test.invalid:8080/a?b=c',
])
def test_webhook_hosts_that_do_not_resolve_yet_are_accepted(
        api: Api, url: str) -> None:
    """As in Zaqar: the name may resolve only from the notifier's network,
    or later. The notifier checks every connection it makes."""
    sub_id = subscribe(api, url)
    assert api.get(S + '/' + sub_id).json['subscriber'] == url
    other = subscribe(api)
    assert api.patch(S + '/' + other,
                     json={'subscriber': 'http://other.invalid/'}) \
        .status_code == 204
    assert api.get(S + '/' + other).json['subscriber'] == \
        'http://other.invalid/'


def test_a_patch_to_an_internal_address_is_refused(api: Api) -> None:
    item = S + '/' + subscribe(api)
    resp = api.patch(item, json={'subscriber': 'http://localhost/x'})
    assert_error(resp, 400)
    assert 'loopback' in resp.json['description']
    assert api.get(item).json['subscriber'] == HOOK


@pytest.mark.parametrize('url, allowed', [
    ('http://127.0.0.1:8080/hook', ['127.0.0.1']),
    ('http://169.254.169.254/latest/meta-data/', ['169.254.0.0/16']),
    ('http://10.0.0.1/hook', ['10.0.0.0/8']),
    ('http://localhost:5000/hook', ['localhost']),
])
def test_internal_destinations_are_allowed_when_allow_listed(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api], url: str,
        allowed: list[str]) -> None:
    conf.set_override('allowed_subscriber_hosts', allowed, group='notifier')
    api = make_api()
    assert api.get(S + '/' + subscribe(api, url)).json['subscriber'] == url
    assert_error(api.post(S, json={'subscriber': 'http://192.168.9.9/'}),
                 400)


def test_same_subscriber_twice_on_a_queue_is_409(api: Api) -> None:
    sub_id = subscribe(api)
    resp = api.post(S, json={'subscriber': HOOK, 'ttl': 900})
    assert_error(resp, 409)
    assert 'already subscribed' in resp.json['description']
    assert listed_ids(api) == [sub_id]
    subscribe(api, queue='q2')
    subscribe(api.as_project('project-b'))


# -- list ------------------------------------------------------------------------

def test_list_of_a_queue_without_subscriptions_is_empty_200(api: Api) -> None:
    resp = api.get(S)
    assert resp.status_code == 200
    assert resp.json == {'subscriptions': [], 'links': []}


def test_list_pages_by_limit_and_next_link_until_empty(api: Api) -> None:
    created = {subscribe(api, 'https://8.8.8.8/%d' % n) for n in range(3)}
    subscribe(api, queue='q2')
    first = api.get(S, params={'limit': '2'}).json
    assert len(first['subscriptions']) == 2
    (link,) = first['links']
    assert link['rel'] == 'next'
    second = api.get(link['href']).json
    assert len(second['subscriptions']) == 1
    seen = {s['id'] for s in first['subscriptions'] + second['subscriptions']}
    assert seen == created
    last = api.get(second['links'][0]['href']).json
    assert last == {'subscriptions': [], 'links': []}
    doc = first['subscriptions'][0]
    assert set(doc) == {'id', 'source', 'subscriber', 'ttl', 'age',
                        'options', 'confirmed', 'delivery'}


def test_list_without_limit_returns_default_page(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('default_subscriptions_per_page', 2, group='limits')
    api = make_api()
    for n in range(3):
        subscribe(api, 'https://8.8.8.8/%d' % n)
    assert len(listed_ids(api)) == 2


@pytest.mark.parametrize('limit', ['0', '21', 'x', '-1'])
def test_list_limit_out_of_range_is_400(api: Api, limit: str) -> None:
    assert_error(api.get(S, params={'limit': limit}), 400)


# -- update ----------------------------------------------------------------------

def test_patch_changes_the_given_fields_and_answers_204(api: Api) -> None:
    sub_id = subscribe(api, ttl=600, options={'subject': 'a'})
    resp = api.patch(S + '/' + sub_id,
                     json={'ttl': 1200, 'options': {'subject': 'b'}})
    assert resp.status_code == 204
    doc = api.get(S + '/' + sub_id).json
    assert (doc['ttl'], doc['options'], doc['subscriber']) == \
        (1200, {'subject': 'b'}, HOOK)
    assert api.patch(S + '/' + sub_id,
                     json={'subscriber': OTHER_HOOK}).status_code == 204
    doc = api.get(S + '/' + sub_id).json
    assert (doc['subscriber'], doc['ttl'], doc['confirmed']) == \
        (OTHER_HOOK, 1200, True)


@pytest.mark.parametrize('body', [
    {}, [], 'ttl', {'ttl': 59}, {'ttl': None}, {'subscriber': None},
    {'subscriber': 'ftp://8.8.8.8/'}, {'options': [1]},
    {'options': {'_retry_policy': {'nope': 1}}},
    {'confirmed': True}, {'secret': 'mine'}, {'id': 'x'},
    {'subscriber': 'http://127.0.0.1/'},
    {'subscriber': 'http://169.254.169.254/'},
    {'subscriber': 'http://10.0.0.1/'},
    {'subscriber': 'http://localhost/'},
])
def test_invalid_patch_is_400_and_changes_nothing(api: Api,
                                                  body: Any) -> None:
    sub_id = subscribe(api, ttl=600)
    before = api.get(S + '/' + sub_id).json
    assert_error(api.patch(S + '/' + sub_id, json=body), 400)
    after = api.get(S + '/' + sub_id).json
    assert dict(after, age=0) == dict(before, age=0)


def test_patch_without_body_is_400(api: Api) -> None:
    assert_error(api.patch(S + '/' + subscribe(api)), 400)


def test_patch_to_an_allow_listed_internal_subscriber_is_accepted(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('allowed_subscriber_hosts', ['10.1.0.0/16'],
                      group='notifier')
    api = make_api()
    sub_id = subscribe(api)
    resp = api.patch(S + '/' + sub_id, json={'subscriber': 'http://10.1.2.3/'})
    assert resp.status_code == 204
    assert_error(api.patch(S + '/' + sub_id,
                           json={'subscriber': 'http://10.2.0.1/'}), 400)


def test_patch_to_a_subscriber_already_subscribed_is_409(api: Api) -> None:
    subscribe(api, HOOK)
    other = subscribe(api, OTHER_HOOK)
    resp = api.patch(S + '/' + other, json={'subscriber': HOOK})
    assert_error(resp, 409)
    assert api.get(S + '/' + other).json['subscriber'] == OTHER_HOOK


# -- delete, not found -----------------------------------------------------------

def test_delete_is_204_and_the_subscription_is_gone(api: Api) -> None:
    sub_id = subscribe(api)
    keep = subscribe(api, OTHER_HOOK)
    assert api.delete(S + '/' + sub_id).status_code == 204
    assert_error(api.get(S + '/' + sub_id), 404)
    assert listed_ids(api) == [keep]
    assert api.delete(S + '/' + sub_id).status_code == 204  # idempotent
    subscribe(api)  # the subscriber may subscribe again


@pytest.mark.parametrize('method, suffix, body', [
    ('GET', '', None),
    ('PATCH', '', {'ttl': 600}),
    ('PUT', '/confirm', {'confirmed': True}),
])
def test_unknown_subscription_is_404(api: Api, method: str, suffix: str,
                                     body: Any) -> None:
    subscribe(api)
    for sub_id in ('5f0e8f0e8f0e8f0e8f0e8f0e', 'no-such-id'):
        resp = api.request(method, S + '/' + sub_id + suffix, json=body)
        assert_error(resp, 404)


def test_subscription_is_found_only_under_its_own_queue(api: Api) -> None:
    sub_id = subscribe(api)
    assert_error(api.get('/v2/queues/q2/subscriptions/' + sub_id), 404)
    assert api.delete('/v2/queues/q2/subscriptions/' + sub_id) \
        .status_code == 204
    assert api.get(S + '/' + sub_id).status_code == 200


# -- projects --------------------------------------------------------------------

def test_other_projects_cannot_see_change_or_delete_a_subscription(
        api: Api) -> None:
    sub_id = subscribe(api, ttl=600)
    other = api.as_project('project-b')
    item = S + '/' + sub_id
    assert listed_ids(other) == []
    assert_error(other.get(item), 404)
    assert_error(other.patch(item, json={'ttl': 1200}), 404)
    assert_error(other.put(item + '/confirm', json={'confirmed': False}),
                 404)
    assert other.delete(item).status_code == 204
    assert other.post('/v2/queues/q1/purge',
                      json={'resource_types': ['subscriptions']}) \
        .status_code == 204
    doc = api.get(item).json
    assert (doc['ttl'], doc['confirmed']) == (600, True)
    assert listed_ids(api) == [sub_id]


# -- confirmation ----------------------------------------------------------------

def test_subscriptions_start_unconfirmed_when_confirmation_is_required(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('require_confirmation', True, group='notifier')
    api = make_api()
    item = S + '/' + subscribe(api)
    assert api.get(item).json['confirmed'] is False
    assert api.put(item + '/confirm', json={'confirmed': True}) \
        .status_code == 204
    assert api.get(item).json['confirmed'] is True
    api.patch(item, json={'ttl': 900})
    assert api.get(item).json['confirmed'] is True
    assert api.patch(item, json={'subscriber': OTHER_HOOK}).status_code == 204
    assert api.get(item).json['confirmed'] is False


def test_confirm_false_unconfirms(api: Api) -> None:
    item = S + '/' + subscribe(api)
    assert api.put(item + '/confirm', json={'confirmed': False}) \
        .status_code == 204
    assert api.get(item).json['confirmed'] is False


def test_a_paused_subscription_stays_paused_when_patched_with_its_subscriber(
        api: Api) -> None:
    item = S + '/' + subscribe(api)
    api.put(item + '/confirm', json={'confirmed': False})
    assert api.patch(item, json={'subscriber': HOOK, 'ttl': 900}) \
        .status_code == 204
    assert api.get(item).json['confirmed'] is False
    # A new subscriber needs no confirmation here: it is delivered to.
    assert api.patch(item, json={'subscriber': OTHER_HOOK}).status_code == 204
    assert api.get(item).json['confirmed'] is True


@pytest.mark.parametrize('body', [{}, {'confirmed': 'true'},
                                  {'confirmed': 1}, {'confirmed': None},
                                  [True], True])
def test_confirm_needs_a_boolean(api: Api, body: Any) -> None:
    item = S + '/' + subscribe(api)
    assert_error(api.put(item + '/confirm', json=body), 400)
    assert_error(api.put(item + '/confirm'), 400)
    assert api.get(item).json['confirmed'] is True


# -- purge, queue deletion, policy -----------------------------------------------

def test_purge_of_subscriptions_deletes_them_and_keeps_messages(
        api: Api) -> None:
    for n in range(3):
        subscribe(api, 'https://8.8.8.8/%d' % n)
    kept = subscribe(api, queue='q2')
    api.post_messages('q1', 'a')
    resp = api.post('/v2/queues/q1/purge',
                    json={'resource_types': ['subscriptions']})
    assert resp.status_code == 204
    assert listed_ids(api) == []
    assert listed_ids(api, '/v2/queues/q2/subscriptions') == [kept]
    assert api.get('/v2/queues/q1/stats').json['messages']['total'] == 1


def test_purge_of_messages_keeps_subscriptions(api: Api) -> None:
    sub_id = subscribe(api)
    resp = api.post('/v2/queues/q1/purge',
                    json={'resource_types': ['messages']})
    assert resp.status_code == 204
    assert listed_ids(api) == [sub_id]


def test_purge_without_body_deletes_subscriptions_too(api: Api) -> None:
    subscribe(api)
    assert api.post('/v2/queues/q1/purge').status_code == 204
    assert listed_ids(api) == []


def test_deleting_the_queue_deletes_its_subscriptions(api: Api) -> None:
    api.put('/v2/queues/q1')
    sub_id = subscribe(api)
    assert api.delete('/v2/queues/q1').status_code == 204
    assert_error(api.get(S + '/' + sub_id), 404)
    assert listed_ids(api) == []


def test_policy_file_can_forbid_subscribing(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api],
        tmp_path: Any) -> None:
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"subscription:create": "!"\n')
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('policy_file', str(policy_file), group='oslo_policy')
    api = make_api()
    assert_error(api.post(S, json={'subscriber': HOOK}), 403)
    assert api.get(S).status_code == 200
