"""Policy rules: defaults in code, overridable by the operator's file."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time
from typing import Callable

import pytest

from oslo_config import cfg
from oslo_policy import opts as policy_opts

from bridge import quotas
from bridge.api import app as api_app
from bridge.api import policy
from bridge.api import share
from bridge.api import subscription_validation
from bridge.api import validation
from bridge.storage import pooling
from bridge.storage.base import Storage

from .support import Api, assert_error


def test_every_resource_rule_has_a_default(conf: cfg.ConfigOpts,
                                           storage: Storage) -> None:
    defined = {rule.name for rule in policy.list_rules()}
    limits = validation.Limits.from_conf(conf)
    table = api_app.routes(
        storage, limits,
        subscription_validation.SubscriptionLimits.from_conf(conf),
        share.Share(limits, 'key', 60), quotas.Quotas(storage, conf),
        pooling.wrap(storage, conf).registry, conf.pooling)
    used = {rule for _, resource in table
            for rule in getattr(resource, 'rules', {}).values()}
    assert used and used <= defined
    health = {r.name: r.check_str for r in policy.list_rules()}['health:get']
    assert health == 'rule:context_is_admin'


def test_pools_and_flavor_changes_are_for_admins_flavor_reads_for_all(
        ) -> None:
    checks = {r.name: r.check_str for r in policy.list_rules()}
    admin_only = [name for name in checks
                  if name.startswith('pools:') or name in (
                      'flavors:create', 'flavors:update', 'flavors:delete')]
    assert len(admin_only) == 8
    assert {checks[name] for name in admin_only} == {'rule:context_is_admin'}
    assert checks['flavors:get_all'] == checks['flavors:get'] == ''


def test_operator_policy_file_overrides_defaults(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api],
        tmp_path: pathlib.Path) -> None:
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"messages:create": "!"\n'
                           '"health:get": ""\n')
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('policy_file', str(policy_file), group='oslo_policy')
    api = make_api()
    assert_error(api.post('/v2/queues/q1/messages',
                          json={'messages': [{'body': 1}]}), 403)
    assert api.put('/v2/queues/q1').status_code == 201
    assert api.get('/v2/health').status_code == 200


def test_policy_entry_points_serve_the_oslopolicy_tools() -> None:
    tool = pathlib.Path(sys.executable).parent / 'oslopolicy-policy-generator'
    out = subprocess.run([str(tool), '--namespace', 'bridge'],
                         capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert '"health:get": "rule:context_is_admin"' in out
    assert '"claims:create": ""' in out


def test_policy_file_changes_apply_without_restart(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api],
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, 'RELOAD_SECONDS', 0.0)
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"queues:get_all": ""\n')
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('policy_file', str(policy_file), group='oslo_policy')
    api = make_api()
    assert api.get('/v2/queues').status_code == 200
    policy_file.write_text('"queues:get_all": "!"\n')
    os.utime(policy_file, (time.time() + 5, time.time() + 5))
    assert_error(api.get('/v2/queues'), 403)
