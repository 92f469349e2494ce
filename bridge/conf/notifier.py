"""Options of bridge-notifier: webhook and email delivery."""

from oslo_config import cfg

notifier_group = cfg.OptGroup('notifier', title='Subscription delivery options')
notifier_opts = [
    cfg.IntOpt('threads', default=16, min=1,
               help='Subscriptions one bridge-notifier process delivers to '
                    'at once (each subscription is delivered in order, one '
                    'message at a time).'),
    cfg.FloatOpt('lease_seconds', default=30.0, min=1.0,
                 help='How long a notifier holds a subscription before '
                      'another notifier may take it over (a crashed '
                      "notifier's work moves after this long)."),
    cfg.FloatOpt('poll_interval', default=0.05, min=0.001,
                 help='Seconds between looks for new work when idle.'),
    cfg.IntOpt('batch_size', default=20, min=1,
               help='Messages read per subscription per look.'),
    cfg.FloatOpt('connect_timeout', default=3.0, min=0.1,
                 help='Seconds to connect to a webhook or SMTP server.'),
    cfg.FloatOpt('read_timeout', default=10.0, min=0.1,
                 help='Seconds to wait for a webhook or SMTP answer.'),
    cfg.IntOpt('max_retries', default=10, min=0,
               help='Most retries of one message to one subscriber; a '
                    "subscription's _retry_policy may ask for fewer, not "
                    'more.'),
    cfg.FloatOpt('min_retry_delay', default=1.0, min=0,
                 help='First retry delay in seconds (doubles each retry, '
                      'with jitter).'),
    cfg.FloatOpt('max_retry_delay', default=300.0, min=0,
                 help='Longest delay between retries, in seconds.'),
    cfg.ListOpt('allowed_subscriber_hosts', default=[],
                help='Hosts or CIDRs that subscriber URLs may point to even '
                     'though they are loopback, link-local or private '
                     '(refused by default, to stop tenants from reaching '
                     'internal services). Checked at creation and at '
                     'delivery time.'),
    cfg.BoolOpt('require_confirmation', default=False,
                help='New subscribers get a confirmation request and '
                     'receive nothing else until they confirm.'),
    cfg.IntOpt('max_subscription_ttl', default=365 * 24 * 3600, min=60,
               help='Longest subscription time to live, in seconds.'),
    cfg.IntOpt('default_subscription_ttl', default=3600, min=60,
               help='Subscription time to live when the request sets none.'),
    cfg.StrOpt('public_endpoint',
               help='Base URL of this API as subscribers reach it, e.g. '
                    'https://bridge.example.net:8888 (for confirmation '
                    'links); unset: the links are paths only '
                    '(/v2/queues/...).'),
    cfg.PortOpt('metrics_port', default=0,
                help='Port of the Prometheus /metrics endpoint of '
                     'bridge-notifier, on [metrics] host. 0 turns it off.'),
]

smtp_group = cfg.OptGroup('smtp', title='Email delivery (mailto: subscribers)')
smtp_opts = [
    cfg.HostAddressOpt('host', default='127.0.0.1', help='SMTP server.'),
    cfg.PortOpt('port', default=25, help='SMTP port.'),
    cfg.BoolOpt('starttls', default=False,
                help='Upgrade the connection with STARTTLS.'),
    cfg.BoolOpt('ssl', default=False, help='Connect with TLS (SMTPS).'),
    cfg.StrOpt('username', help='SMTP login user, if the server needs one.'),
    cfg.StrOpt('password', secret=True, help='SMTP login password.'),
    cfg.StrOpt('sender', default='bridge@localhost',
               help='From address of notification emails.'),
]
