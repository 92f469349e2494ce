"""bridge.quotas: which limit applies to a project, and how long a process
keeps the overrides it read."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import quotas
from bridge import storage as bridge_storage


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], default_config_files=[])
    conf.set_override('queues_per_project', 5, group='quotas')
    conf.set_override('subscriptions_per_project', 0, group='quotas')
    return conf


@pytest.fixture
def storage(conf, tmp_path):
    store = bridge_storage.from_url('sqlite:///%s' % (tmp_path / 'q.db'),
                                    conf)
    store.ensure_schema()
    yield store
    store.close()


def test_defaults_apply_unless_overridden_and_zero_means_unlimited(
        conf, storage):
    storage.set_quota('p', 'subscriptions', 3)
    storage.set_quota('p', 'queues', 0)
    limits = quotas.Quotas(storage, conf).of('p')
    assert limits == quotas.Limits(queues=None, messages=100000,
                                   subscriptions=3)
    assert quotas.Quotas(storage, conf).of('other') == quotas.Limits(
        queues=5, messages=100000, subscriptions=None)


def test_overrides_are_read_again_after_refresh_seconds(conf, storage):
    now = [1000.0]
    service = quotas.Quotas(storage, conf, clock=lambda: now[0])
    assert service.of('p').queues == 5
    storage.set_quota('p', 'queues', 7)
    now[0] += conf.quotas.refresh_seconds - 1
    assert service.of('p').queues == 5  # still the remembered value
    now[0] += 1
    assert service.of('p').queues == 7
