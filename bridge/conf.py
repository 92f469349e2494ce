"""Every configuration option of bridge, in one place.

Services call :func:`register_opts` on their ``cfg.ConfigOpts`` and read
values from it; no module keeps a limit or a default as a literal.
``bridge/opts.py`` exposes the same lists to ``oslo-config-generator``.
"""

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

api_group = cfg.OptGroup('api', title='REST API server options')
api_opts = [
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='Address bridge-api listens on.'),
    cfg.PortOpt('bind_port', default=8888,
                help='Port bridge-api listens on.'),
    cfg.IntOpt('workers', default=4, min=1,
               help='Number of bridge-api worker processes. Processes '
                    'scale better than threads (each process has its own '
                    'interpreter lock); about twice the number of CPU '
                    'cores is a good start.'),
    cfg.IntOpt('threads', default=1, min=1,
               help='Threads per bridge-api worker process: requests one '
                    'process serves at once. On SQLite (the default) a '
                    'request waits on nothing a second thread could use, '
                    'and threads only take turns at the interpreter lock, '
                    'so one thread per process serves most requests '
                    '(measured: about a quarter more than two). With a '
                    'network database (PostgreSQL, MariaDB, MongoDB), 2 to '
                    '4 threads overlap its round trips.'),
    cfg.IntOpt('worker_connections', default=1000, min=1,
               help='Most client connections one bridge-api worker process '
                    'keeps open (gunicorn worker_connections); beyond it, '
                    'new connections wait for another worker or a free '
                    'slot.'),
]

storage_group = cfg.OptGroup('storage', title='Message storage options')
storage_opts = [
    cfg.StrOpt('url',
               secret=True,
               help='Storage URL; its scheme picks the driver: '
                    'sqlite:///PATH, postgresql://USER:PASS@HOST/DB, '
                    'mysql+pymysql://USER:PASS@HOST/DB or '
                    'mongodb://HOST:PORT/DB. Default: an SQLite file '
                    '"bridge.sqlite" under [DEFAULT] state_path.'),
    cfg.IntOpt('sql_pool_size', default=10, min=1,
               help='SQL connections kept open per process.'),
    cfg.IntOpt('sqlite_busy_timeout', default=30, min=1,
               help='Seconds an SQLite writer waits for the database lock.'),
    cfg.StrOpt('mongodb_database', default='bridge',
               help='MongoDB database used when the URL names none.'),
    cfg.StrOpt('mongodb_write_concern', default='majority',
               help='MongoDB write concern "w" value: a number of nodes or '
                    '"majority".'),
    cfg.BoolOpt('mongodb_journal', default=True,
                help='Wait for the MongoDB journal before a write is '
                     'acknowledged.'),
    cfg.BoolOpt('mongodb_retry_writes', default=True,
                help='Let pymongo retry a write once after a failover.'),
    cfg.IntOpt('mongodb_timeout', default=10, min=1,
               help='Seconds to wait for a MongoDB server before a '
                    'request fails with 503.'),
]

pooling_group = cfg.OptGroup(
    'pooling', title='Storage pools',
    help='Pools are registered through the /v2/pools admin API and kept in '
         'the [storage] url database; these options tune how services '
         'follow them.')
pooling_opts = [
    cfg.FloatOpt('refresh_seconds', default=5.0, min=0.0,
                 help='How often each process re-reads the list of '
                      'registered pools: a pool registered by another '
                      'process takes new queues here within this time.'),
    cfg.IntOpt('max_pools_per_page', default=20, min=1,
               help='Most pools one GET /v2/pools returns.'),
    cfg.IntOpt('max_flavors_per_page', default=20, min=1,
               help='Most flavors one GET /v2/flavors returns.'),
]

limits_group = cfg.OptGroup('limits', title='API limits and defaults',
                            help='Values a tenant sees; the defaults are '
                                 "Zaqar's, so its clients behave the same.")
limits_opts = [
    cfg.IntOpt('max_queues_per_page', default=20, min=1,
               help='Most queues one list request returns.'),
    cfg.IntOpt('max_messages_per_page', default=20, min=1,
               help='Most messages one list, get-by-ids or delete-by-ids '
                    'request handles.'),
    cfg.IntOpt('max_messages_per_claim_or_pop', default=20, min=1,
               help='Most messages one claim or pop takes.'),
    cfg.IntOpt('max_queue_metadata', default=64 * 1024, min=1,
               help='Largest queue metadata document, in bytes.'),
    cfg.IntOpt('max_messages_post_size', default=256 * 1024, min=1,
               help='Largest message post body, in bytes; a queue may lower '
                    'it with its _max_messages_post_size metadata.'),
    cfg.IntOpt('max_message_ttl', default=1209600, min=1,
               help='Longest message time to live, in seconds.'),
    cfg.IntOpt('min_message_ttl', default=60, min=1,
               help='Shortest message time to live, in seconds.'),
    cfg.IntOpt('default_message_ttl', default=3600, min=1,
               help='Message time to live when neither the message nor its '
                    'queue sets one.'),
    cfg.IntOpt('max_message_delay', default=900, min=0,
               help='Longest delay before a posted message becomes visible.'),
    cfg.IntOpt('default_message_delay', default=0, min=0,
               help='Delay when neither the message nor its queue sets one.'),
    cfg.IntOpt('max_claim_ttl', default=43200, min=1,
               help='Longest claim time to live, in seconds.'),
    cfg.IntOpt('min_claim_ttl', default=60, min=1,
               help='Shortest claim time to live, in seconds.'),
    cfg.IntOpt('default_claim_ttl', default=300, min=1,
               help='Claim time to live when the request sets none.'),
    cfg.IntOpt('max_claim_grace', default=43200, min=0,
               help='Longest claim grace period, in seconds.'),
    cfg.IntOpt('min_claim_grace', default=60, min=0,
               help='Shortest claim grace period, in seconds.'),
    cfg.IntOpt('default_claim_grace', default=60, min=0,
               help='Claim grace period when the request sets none.'),
    cfg.IntOpt('max_request_body', default=1024 * 1024, min=1,
               help='Largest request body of any kind read from a client, '
                    'in bytes; larger bodies are refused with 413 before '
                    'they are read.'),
    cfg.IntOpt('default_queues_per_page', default=10, min=1,
               help='Queues one list request returns when it sets no limit.'),
    cfg.IntOpt('default_messages_per_page', default=10, min=1,
               help='Messages one list request returns when it sets no '
                    'limit.'),
    cfg.IntOpt('default_messages_per_claim', default=10, min=1,
               help='Messages one claim takes when the request sets no '
                    'limit.'),
    cfg.IntOpt('max_json_depth', default=64, min=2,
               help='Deepest nesting of arrays and objects accepted in a '
                    'request body (message bodies and queue metadata); '
                    'MongoDB refuses documents nested beyond 100 levels.'),
    cfg.IntOpt('max_subscriptions_per_page', default=20, min=1,
               help='Most subscriptions one list request returns.'),
    cfg.IntOpt('default_subscriptions_per_page', default=10, min=1,
               help='Subscriptions one list request returns when it sets no '
                    'limit.'),
    cfg.IntOpt('max_subscriber_length', default=2048, min=16,
               help='Longest subscriber URI (webhook URL or mailto:), in '
                    'characters.'),
    cfg.IntOpt('max_subscription_options', default=16 * 1024, min=2,
               help='Largest subscription "options" object, in bytes of '
                    'JSON.'),
]


listener_group = cfg.OptGroup('listener', title='Notification listener options')
listener_opts = [
    cfg.ListOpt('extra_transport_urls', default=[], secret=True,
                help='Further oslo.messaging transport URLs to listen on, '
                     'besides [DEFAULT] transport_url (clouds that run one '
                     'RabbitMQ per cell or per service).'),
    cfg.ListOpt('exchanges',
                default=['nova', 'cinder', 'neutron', 'glance', 'heat',
                         'keystone', 'designate', 'octavia', 'magnum',
                         'trove', 'manila', 'ironic', 'openstack'],
                help='Exchanges whose notifications bridge consumes.'),
    cfg.ListOpt('topics', default=['notifications', 'versioned_notifications'],
                help='Notification topics consumed on every exchange.'),
    cfg.StrOpt('pool', default='bridge',
               help='Listener pool: the RabbitMQ queue bridge consumes from. '
                    'A pool gets its own copy of every notification, so '
                    'bridge never takes messages from Ceilometer or other '
                    'consumers. All bridge-listener processes of one cloud '
                    'share one pool.'),
    cfg.IntOpt('batch_size', default=100, min=1,
               help='Notifications handed to the endpoint at once; each '
                    'batch is stored in one transaction where the backend '
                    'allows.'),
    cfg.FloatOpt('batch_timeout', default=0.5, min=0.01,
                 help='Seconds to wait for a batch to fill before handling '
                      'what has arrived.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Listener processes to run; they share the pool queue.'),
    cfg.IntOpt('threads', default=4, min=1,
               help='Batches one listener process handles at once. Each '
                    'holds a storage transaction; batches of the same '
                    'tenants queue up on the same queue rows, so more '
                    'threads than storage connections or cores only adds '
                    'lock waits.'),
    cfg.StrOpt('rules_file',
               help='YAML file of tenant resolution, routing and redaction '
                    'rules. Default: the rules shipped with bridge '
                    '(etc/bridge/rules.yaml).'),
    cfg.StrOpt('dead_letter_project', default='bridge-operator',
               help='Project that owns the operator dead-letter queue, '
                    'where notifications that cannot be attributed to a '
                    'tenant are kept (set it to the cloud admin project id '
                    'so admins can read them through the API).'),
    cfg.StrOpt('dead_letter_queue', default='unroutable',
               help='Queue (in dead_letter_project) for notifications that '
                    'cannot be attributed or translated.'),
    cfg.IntOpt('dead_letter_ttl', default=1209600, min=60,
               help='Seconds a dead-lettered notification is kept.'),
    cfg.IntOpt('max_queue_depth', default=10000, min=0,
               help='Most messages kept in a queue bridge writes to; when '
                    'a tenant does not read, the oldest are evicted beyond '
                    'this depth (0 = unbounded).'),
    cfg.FloatOpt('requeue_delay', default=2.0, min=0,
                 help='Seconds to pause before handing a batch back to the '
                      'bus when storage is unavailable (no hot loop).'),
]


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


signed_url_group = cfg.OptGroup(
    'signed_url', title='Pre-signed URLs',
    help='Pre-signed URLs (POST /v2/queues/{name}/share, and subscription '
         'confirmation requests) let a holder use some paths of one queue '
         'without a token until they expire.')
signed_url_opts = [
    cfg.StrOpt('secret_key', secret=True,
               help='Key of the HMAC-SHA256 signatures of pre-signed URLs. '
                    'Unset: pre-signed URLs are disabled (share answers '
                    '400, signed requests 404). Give every bridge-api and '
                    'bridge-notifier the same value; changing it revokes '
                    'every URL signed before. Use a long random string, '
                    'e.g. from "openssl rand -hex 32".'),
    cfg.IntOpt('default_expiry', default=86400, min=1,
               help='Seconds a pre-signed URL is valid when its request '
                    'names no "expires" (as Zaqar: one day), and how long '
                    'the signed URL in a confirmation request is valid.'),
]


def list_opts():
    """Option groups and their options, for registration and for
    oslo-config-generator."""
    return [
        (None, default_opts),
        (api_group, api_opts),
        (storage_group, storage_opts),
        (pooling_group, pooling_opts),
        (limits_group, limits_opts),
        (listener_group, listener_opts),
        (notifier_group, notifier_opts),
        (smtp_group, smtp_opts),
        (signed_url_group, signed_url_opts),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in list_opts():
        if group is not None:
            # A copy per ConfigOpts: oslo.config keeps overrides in the
            # OptGroup object, so sharing the module-level one would leak
            # set_override() from one ConfigOpts into every other.
            conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                             help=group.help))
        conf.register_opts(opts, group=group)


def storage_url(conf: cfg.ConfigOpts) -> str:
    """The storage URL every service uses: [storage] url, or the embedded
    SQLite file under [DEFAULT] state_path."""
    if conf.storage.url:
        return conf.storage.url
    path = os.path.join(conf.state_path, 'bridge.sqlite')
    return 'sqlite:///' + path
