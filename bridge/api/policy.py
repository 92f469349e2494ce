"""Authorization rules (oslo.policy), with their defaults in code.

Tenant isolation does not depend on these rules: every storage call is
scoped to the caller's project. The rules decide which operations a caller
may use at all; by default any authenticated caller may use the queue API
within its own project, and may read the flavors (as in Zaqar); only
admins may read ``/v2/health`` and manage pools and flavors. Operators
override rules in the ``[oslo_policy] policy_file`` as for any OpenStack
service; ``oslopolicy-sample-generator --namespace bridge`` lists them.
"""

from __future__ import annotations

import threading
import time

from oslo_config import cfg
from oslo_policy import policy

from bridge.api import kinds

ADMIN = 'context_is_admin'
ANY = ''
#: How long a change to the policy file may take to apply.
RELOAD_SECONDS = 2.0


def _rule(name: str, description: str, method: str, path: str,
          check_str: str = ANY) -> policy.DocumentedRuleDefault:
    operations: list[policy.Operation] = [{'method': method, 'path': path}]
    if path.startswith(_Q) and kinds.TOPIC.rules.get(name) == name:
        # Topics use these queue rules too (Zaqar's message and
        # subscription rules).
        operations.append({'method': method,
                           'path': _T + path[len(_Q):]})
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=operations)


_Q = '/v2/queues/{queue_name}'
_T = '/v2/topics/{topic_name}'
_P = '/v2/pools/{pool_name}'
_F = '/v2/flavors/{flavor_name}'

RULES: list[policy.RuleDefault] = [
    policy.RuleDefault(ADMIN, 'role:admin',
                       description='Who counts as a cloud administrator.'),
    _rule('queues:get_all', 'List queues.', 'GET', '/v2/queues'),
    _rule('queues:create', 'Create a queue.', 'PUT', _Q),
    _rule('queues:get', 'Show a queue.', 'GET', _Q),
    _rule('queues:exists', 'Check that a queue exists.', 'HEAD', _Q),
    _rule('queues:update', 'Update queue metadata.', 'PATCH', _Q),
    _rule('queues:delete', 'Delete a queue.', 'DELETE', _Q),
    _rule('queues:stats', 'Show queue statistics.', 'GET', _Q + '/stats'),
    _rule('queues:purge', 'Purge a queue.', 'POST', _Q + '/purge'),
    _rule('queues:share', 'Create a pre-signed URL for a queue.', 'POST',
          _Q + '/share'),
    _rule('messages:create', 'Post messages.', 'POST', _Q + '/messages'),
    _rule('messages:get_all', 'List messages, or get them by id.', 'GET',
          _Q + '/messages'),
    _rule('messages:delete_all', 'Delete messages by id, or pop them.',
          'DELETE', _Q + '/messages'),
    _rule('messages:get', 'Show a message.', 'GET',
          _Q + '/messages/{message_id}'),
    _rule('messages:delete', 'Delete a message.', 'DELETE',
          _Q + '/messages/{message_id}'),
    _rule('claims:create', 'Claim messages.', 'POST', _Q + '/claims'),
    _rule('claims:get', 'Show a claim.', 'GET', _Q + '/claims/{claim_id}'),
    _rule('claims:update', 'Renew a claim.', 'PATCH',
          _Q + '/claims/{claim_id}'),
    _rule('claims:delete', 'Release a claim.', 'DELETE',
          _Q + '/claims/{claim_id}'),
    _rule('subscription:create', 'Subscribe to a queue.', 'POST',
          _Q + '/subscriptions'),
    _rule('subscription:get_all', "List a queue's subscriptions.", 'GET',
          _Q + '/subscriptions'),
    _rule('subscription:get', 'Show a subscription.', 'GET',
          _Q + '/subscriptions/{subscription_id}'),
    _rule('subscription:update', 'Change a subscription.', 'PATCH',
          _Q + '/subscriptions/{subscription_id}'),
    _rule('subscription:delete', 'Delete a subscription.', 'DELETE',
          _Q + '/subscriptions/{subscription_id}'),
    _rule('subscription:confirm', 'Confirm (or unconfirm) a subscription.',
          'PUT', _Q + '/subscriptions/{subscription_id}/confirm'),
    _rule('topics:get_all', 'List topics.', 'GET', '/v2/topics'),
    _rule('topics:create', 'Create a topic.', 'PUT', _T),
    _rule('topics:get', 'Show a topic.', 'GET', _T),
    _rule('topics:update', 'Update topic metadata.', 'PATCH', _T),
    _rule('topics:delete', 'Delete a topic.', 'DELETE', _T),
    _rule('topics:stats', 'Show topic statistics.', 'GET', _T + '/stats'),
    _rule('topics:purge', 'Purge a topic.', 'POST', _T + '/purge'),
    _rule('ping:get', 'Check that the API and its storage answer.', 'GET',
          '/v2/ping'),
    _rule('ping:head', 'Check that the API answers.', 'HEAD', '/v2/ping'),
    _rule('pools:get_all', 'List storage pools.', 'GET', '/v2/pools',
          check_str='rule:' + ADMIN),
    _rule('pools:create', 'Register a storage pool.', 'PUT', _P,
          check_str='rule:' + ADMIN),
    _rule('pools:get', 'Show a storage pool.', 'GET', _P,
          check_str='rule:' + ADMIN),
    _rule('pools:update', 'Change a storage pool.', 'PATCH', _P,
          check_str='rule:' + ADMIN),
    _rule('pools:delete', 'Deregister a storage pool.', 'DELETE', _P,
          check_str='rule:' + ADMIN),
    _rule('flavors:get_all', 'List flavors (tenants name one in a '
          "queue's _flavor metadata).", 'GET', '/v2/flavors'),
    _rule('flavors:get', 'Show a flavor.', 'GET', _F),
    _rule('flavors:create', 'Create or replace a flavor.', 'PUT', _F,
          check_str='rule:' + ADMIN),
    _rule('flavors:update', "Change a flavor's pools.", 'PATCH', _F,
          check_str='rule:' + ADMIN),
    _rule('flavors:delete', 'Delete a flavor.', 'DELETE', _F,
          check_str='rule:' + ADMIN),
    _rule('health:get', 'Show the service health (administrators).', 'GET',
          '/v2/health', check_str='rule:' + ADMIN),
    _rule('metrics:get', 'Read the Prometheus metrics (keystone mode; in '
          'noauth mode /metrics is open).', 'GET', '/metrics',
          check_str='rule:' + ADMIN),
]


def list_rules() -> list[policy.RuleDefault]:
    """Entry point ``oslo.policy.policies``: every rule with its default."""
    return list(RULES)


def get_enforcer() -> policy.Enforcer:
    """Entry point ``oslo.policy.enforcer`` for the oslopolicy tools."""
    cfg.CONF([], project='bridge')
    return make_enforcer(cfg.CONF)


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(RULES)
    return enforcer


class Authorizer:
    """Answers "may these credentials do this?" for the API. Built once per
    application.

    oslo.policy's ``enforce()`` re-reads its file list and inspects the
    check on every call (about a millisecond here, more than a whole
    message post). So the policy file is reloaded at most every
    :data:`RELOAD_SECONDS`, and rules whose check is a constant (``""`` /
    ``"@"`` allow, ``"!"`` deny: the defaults of every tenant rule) are
    answered from that reload without calling the enforcer. Other rules
    (roles, targets) go through ``enforce()``.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._enforcer = make_enforcer(conf)
        self._constant: dict[str, bool] = {}
        self._next_reload = 0.0
        self._lock = threading.Lock()

    def _reload(self, now: float) -> None:
        with self._lock:
            if now < self._next_reload:
                return
            self._enforcer.load_rules()
            self._constant = {name: str(check) == '@'
                              for name, check in self._enforcer.rules.items()
                              if str(check) in ('@', '!')}
            self._next_reload = now + RELOAD_SECONDS

    def allowed(self, rule: str, project: str | None, roles: list[str],
                user_id: str | None = None) -> bool:
        now = time.monotonic()
        if now >= self._next_reload:
            self._reload(now)
        constant = self._constant.get(rule)
        if constant is not None:
            return constant
        creds = {'project_id': project, 'roles': roles, 'user_id': user_id}
        return bool(self._enforcer.enforce(rule, {'project_id': project},
                                           creds, do_raise=False))
