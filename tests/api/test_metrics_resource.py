"""``GET /metrics`` in keystone mode (policy ``metrics:get``, admin by
default), and the storage sample behind its gauges (reused for
``[metrics] sample_interval`` seconds)."""

from __future__ import annotations

from falcon import testing
from oslo_config import cfg
from oslo_policy import opts as policy_opts

from bridge.api import app as api_app
from bridge.api import metrics
from bridge.metrics import sampler
from bridge.storage import models
from bridge.storage.base import Storage
from tests.prometheus import metric

from .test_keystone_mode import call, token


def keystone_client(conf: cfg.ConfigOpts,
                    storage: Storage) -> testing.TestClient:
    """The application as auth_token leaves requests to it (see
    test_keystone_mode.py), with the /metrics route the pipeline adds."""
    conf.set_override('auth_strategy', 'keystone')
    app = api_app.create_app(conf, storage)
    app.add_route(metrics.PATH, metrics.Metrics(conf, storage))
    return testing.TestClient(app)


def test_keystone_mode_metrics_need_an_admin_token(
        conf: cfg.ConfigOpts, storage: Storage) -> None:
    client = keystone_client(conf, storage)
    assert call(client, 'GET', '/metrics', token('p', ('admin',))
                ).status_code == 200
    member = call(client, 'GET', '/metrics', token('p', ('member',)))
    assert member.status_code == 403
    assert member.json['description'] == 'Policy does not allow ' \
        '"metrics:get".'
    assert call(client, 'GET', '/metrics', None,
                status='Invalid').status_code == 401


def test_operators_can_open_metrics_to_a_monitoring_role(
        conf: cfg.ConfigOpts, storage: Storage, tmp_path) -> None:
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"metrics:get": "role:monitoring"\n')
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('policy_file', str(policy_file), group='oslo_policy')
    client = keystone_client(conf, storage)
    assert call(client, 'GET', '/metrics', token('p', ('monitoring',))
                ).status_code == 200
    assert call(client, 'GET', '/metrics', token('p', ('admin',))
                ).status_code == 403


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def collect(collector: sampler.StorageSampler) -> str:
    lines = []
    for family in collector.collect():
        for sample in family.samples:
            labels = ','.join('%s="%s"' % kv for kv in sample.labels.items())
            lines.append('%s{%s} %s' % (sample.name, labels, sample.value))
    return '\n'.join(lines)


def test_storage_sample_is_reused_until_the_interval_passes(
        storage: Storage) -> None:
    clock = Clock()
    collector = sampler.StorageSampler(storage, limit=5, interval=15,
                                       queues=True, clock=clock)
    assert metric(collect(collector), 'bridge_queue_depth') is None
    storage.post_messages('p1', 'q1', [models.NewMessage(body=1, ttl=60)])
    clock.now += 14
    assert metric(collect(collector), 'bridge_queue_depth') is None
    clock.now += 1
    assert metric(collect(collector), 'bridge_queue_depth', project='p1',
                  queue='q1') == 1
    assert metric(collect(collector), 'bridge_storage_sample_up') == 1


def test_unreachable_storage_shows_as_sample_down(
        conf: cfg.ConfigOpts, tmp_path) -> None:
    from bridge import storage as bridge_storage
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    broken = bridge_storage.from_url('sqlite:///%s/x.sqlite' % blocker, conf)
    collector = sampler.StorageSampler(broken, limit=5, interval=0,
                                       queues=True, backlogs=True)
    text = collect(collector)
    assert metric(text, 'bridge_storage_sample_up') == 0
    assert 'bridge_queue_depth' not in text


def test_sample_grafana_dashboard_uses_only_metrics_bridge_exports(
        conf: cfg.ConfigOpts, storage: Storage) -> None:
    import json
    import pathlib
    import re
    dashboard = pathlib.Path(__file__).resolve().parents[2] / 'etc' / \
        'bridge' / 'grafana-dashboard.json'
    panels = json.loads(dashboard.read_text())['panels']
    used = {name for panel in panels for target in panel['targets']
            for name in re.findall(r'\bbridge_\w+', target['expr'])}
    client = testing.TestClient(api_app.create_app(conf, storage))
    client.app.add_route(metrics.PATH, metrics.Metrics(conf, storage))
    text = client.simulate_get('/metrics').text
    exported = set(re.findall(r'^# TYPE (bridge_\w+) ', text, re.M))
    exported.add('bridge_subscription_backlog')  # bridge-notifier's
    series = {name + suffix for name in exported
              for suffix in ('', '_total', '_bucket', '_count', '_sum')}
    assert used and used <= series, used - series
