"""Options every bridge process reads: [DEFAULT] and [metrics]."""

import os

from oslo_config import cfg


def _default_state_path() -> str:
    base = os.environ.get('XDG_STATE_HOME') or os.path.expanduser('~/.local/state')
    return os.path.join(base, 'bridge')


default_opts = [
    cfg.StrOpt('state_path',
               default=_default_state_path(),
               sample_default='$XDG_STATE_HOME/bridge (~/.local/state/bridge)',
               help='Directory where bridge keeps local state; the embedded '
                    'SQLite database lives here when [storage] url is not set.'),
    cfg.StrOpt('auth_strategy',
               default='noauth',
               choices=[('noauth', 'Trust the X-Project-Id header. For '
                                   'development and tests only.'),
                        ('keystone', 'Validate tokens with keystonemiddleware; '
                                     'the project always comes from the token.')],
               help='How API requests are authenticated.'),
]

metrics_group = cfg.OptGroup(
    'metrics', title='Prometheus metrics',
    help='bridge-api serves GET /metrics on its own port (policy '
         '"metrics:get"); bridge-listener and bridge-notifier serve theirs '
         'on [listener] metrics_port and [notifier] metrics_port.')
metrics_opts = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the metrics endpoints of '
                            'bridge-listener and bridge-notifier listen on.'),
    cfg.FloatOpt('sample_interval', default=15.0, min=0,
                 help='Seconds a storage sample (queue depths, oldest '
                      'message ages, subscription backlogs) is reused '
                      'before storage is read again; each sample reads '
                      'every stored message.'),
    cfg.IntOpt('sample_limit', default=20, min=1,
               help='Queues (the deepest) and subscriptions (the largest '
                    'backlogs) that storage samples report, which bounds '
                    'the number of series whatever the number of '
                    'tenants.'),
]
