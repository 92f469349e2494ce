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

#: bridge-api workers and threads per worker on a network database ([api]
#: workers = 0, threads = 0); on SQLite both are 1.
NETWORK_DATABASE_WORKERS = 2
NETWORK_DATABASE_THREADS = 8

api_group = cfg.OptGroup('api', title='REST API server options')
api_opts = [
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='Address bridge-api listens on.'),
    cfg.PortOpt('bind_port', default=8888,
                help='Port bridge-api listens on.'),
    cfg.IntOpt('workers', default=0, min=0,
               help='Number of bridge-api worker processes, each with its '
                    'own interpreter (and lock), storage connections and '
                    'event loop. 0 (the default) picks by storage, as '
                    'measured on 2 cores: 1 on SQLite (the database has one '
                    'writer: a second process served the same rate with 2 '
                    'to 3 times the p99 latency) and %d on PostgreSQL, '
                    'MariaDB or MongoDB.' % NETWORK_DATABASE_WORKERS),
    cfg.IntOpt('threads', default=0, min=0,
               help='Threads per bridge-api worker process that run '
                    'requests once their whole body has arrived (bodies '
                    'and headers are read without a thread, so slow '
                    'clients hold none). With 1, requests run on the '
                    'worker\'s event loop thread, which costs the least '
                    'CPU; more threads overlap the round trips to a network '
                    'database. 0 (the default) picks by storage, as '
                    'measured on 2 cores: 1 on SQLite, where a request '
                    'waits on nothing a second thread could use, and '
                    '%d on PostgreSQL, MariaDB or MongoDB (on PostgreSQL '
                    'about 2.8 times the rate of 1 thread, 1.2 times that '
                    'of 4).' % NETWORK_DATABASE_THREADS),
    cfg.IntOpt('max_requests_per_worker', default=256, min=1,
               help='Most requests one worker process holds at once, '
                    'counting those whose body is still arriving and those '
                    'waiting for a thread; further connections wait to be '
                    'accepted.'),
    cfg.IntOpt('max_waiters_per_worker', default=10000, min=0,
               help='Most long polls (GET messages or POST claims with '
                    '"wait") one worker process holds parked at once, on '
                    'top of max_requests_per_worker; a waiter holds no '
                    'thread, only a coroutine and its connection. Beyond '
                    'this a request with "wait" is answered at once.'),
    cfg.IntOpt('graceful_timeout', default=30, min=1,
               help='Seconds a worker process has after SIGTERM to finish '
                    'the requests it holds before it is killed.'),
]

websocket_group = cfg.OptGroup(
    'websocket', title="Zaqar v2's WebSocket API",
    help='bridge-api serves the WebSocket API of Zaqar v2 (the protocol '
         "of python-zaqarclient's websocket transport and of "
         "os-collect-config's use_websockets mode) on its own port, path "
         '/, from a second server process of its own.')
websocket_opts = [
    cfg.HostAddressOpt('bind_host',
                       help='Address of the WebSocket API. Default: [api] '
                            'bind_host.'),
    cfg.PortOpt('bind_port', default=9000,
                help='Port of the WebSocket API (as Zaqar); 0 turns it '
                     'off.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Worker processes of the WebSocket server; a socket '
                    'and its subscriptions hold no thread.'),
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
    cfg.FloatOpt('sqlite_checkpoint_interval', default=1.0, min=0,
                 help='Seconds between the WAL checkpoints a background '
                      'thread of each bridge process runs on an SQLite '
                      'database, so that no request waits for one '
                      '(measured: about 15% more API requests per second). '
                      '0: SQLite checkpoints inside '
                      'the commit that grows the WAL past 1000 pages.'),
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
    cfg.IntOpt('max_wait', default=20, min=1,
               help='Longest long poll: the most seconds a GET messages or '
                    'POST claims request may ask to "wait" for a message '
                    'when there is none (as SQS\'s WaitTimeSeconds; the '
                    'default, wait=0, answers at once).'),
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
    cfg.StrOpt('pool_queue_type', default='auto',
               choices=[('auto', 'quorum when [oslo_messaging_rabbit] '
                                 'rabbit_quorum_queue is true, else classic'),
                        ('classic', 'a durable classic queue'),
                        ('quorum', 'a quorum queue (durable, replicated '
                                   'across the RabbitMQ cluster)')],
               help='Type of the pool queue bridge declares on RabbitMQ. It '
                    'is durable in every case, whatever [oslo_messaging_'
                    'rabbit] amqp_durable_queues says, so the notifications '
                    'waiting in it survive a broker restart; the services\' '
                    'exchanges are used as they are. RabbitMQ cannot change '
                    'the type of an existing queue: see the README, '
                    '"Nothing lost across a broker restart".'),
    cfg.IntOpt('batch_size', default=100, min=1,
               help='Notifications handed to the endpoint at once; each '
                    'batch is stored in one transaction where the backend '
                    'allows.'),
    cfg.FloatOpt('batch_timeout', default=0.5, min=0.01,
                 help='Seconds a listener waits for the first notification '
                      'of a batch before polling again (it answers sooner '
                      'when one arrives).'),
    cfg.FloatOpt('batch_linger', default=0.002, min=0,
                 help='Seconds a batch waits, after its first notification '
                      'arrived, for more (up to batch_size) before it is '
                      'stored: the most a lone event is delayed. Under load '
                      'notifications pile up while the previous batch is '
                      'stored, so batches still fill.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Listener processes to run; they share the pool queue.'),
    cfg.BoolOpt('store_in_subprocess', default=True,
                help='Translate and store notifications in a store process '
                     'forked by each listener process, which then only '
                     'consumes the bus and acks what the store process '
                     'stored. Python runs one thread at a time per process: '
                     'kept apart, oslo.messaging\'s bus consumer and '
                     'bridge\'s translation run on two cores instead of '
                     'taking turns on one. False: translate and store in '
                     'the listener process itself.'),
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
    cfg.PortOpt('metrics_port', default=0,
                help='Port of the Prometheus /metrics endpoint of '
                     'bridge-listener (all its worker processes), on '
                     '[metrics] host. 0 turns it off.'),
    cfg.FloatOpt('broker_check_timeout', default=5.0, min=0.1,
                 help='Seconds bridge-listener waits for RabbitMQ at start '
                      'before it gives up with a message naming the '
                      'unreachable broker.'),
]


translation_group = cfg.OptGroup(
    'translation', title='Owner resolution of notifications')
translation_opts = [
    cfg.ListOpt('operator_projects', default=[],
                help='Project ids of the cloud operators (admin, service '
                     'projects). A request context of these projects, or '
                     'with the admin or service role, acts for others: an '
                     'event is never delivered to it because of the '
                     'context alone.'),
    cfg.IntOpt('ownership_grace', default=86400, min=0,
               help='Seconds the ownership index keeps a resource\'s owner '
                    'after its delete event, for late events of the same '
                    'resource.'),
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
    cfg.PortOpt('metrics_port', default=0,
                help='Port of the Prometheus /metrics endpoint of '
                     'bridge-notifier, on [metrics] host. 0 turns it off.'),
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

quotas_group = cfg.OptGroup(
    'quotas', title='Per-project quotas',
    help='Defaults for every project; "bridge-manage quota set" overrides '
         'them per project. 0 means unlimited. The listener is not bound by '
         'them: it keeps its queues under [listener] max_queue_depth by '
         'evicting the oldest messages.')
quotas_opts = [
    cfg.IntOpt('queues_per_project', default=1000, min=0,
               help='Most queues a project may have; creating one more '
                    '(PUT, or a post to a queue that does not exist) '
                    'answers 403.'),
    cfg.IntOpt('messages_per_queue', default=100000, min=0,
               help='Most unexpired messages (claimed, delayed or not) a '
                    'queue may hold for a post through the API to be '
                    'accepted; a post that would exceed it stores nothing '
                    'and answers 403.'),
    cfg.IntOpt('subscriptions_per_project', default=1000, min=0,
               help='Most unexpired subscriptions a project may have, over '
                    'all its queues.'),
    cfg.IntOpt('refresh_seconds', default=10, min=0,
               help='Seconds an API process keeps the per-project overrides '
                    'it read before reading them again; a change made with '
                    '"bridge-manage quota" applies everywhere within this '
                    'time.'),
]

encryption_group = cfg.OptGroup(
    'encryption', title='Encryption of message bodies at rest',
    help='Queues whose metadata sets _enable_encrypt_messages to true have '
         'their message bodies stored sealed with AES-GCM.')
encryption_opts = [
    cfg.ListOpt('keys', default=[], secret=True,
                help='Encryption keys as ID:BASE64 pairs (ID: 1 to 32 '
                     'letters, digits, "_" or "-"; the key: 16, 24 or 32 '
                     'random bytes, e.g. from "openssl rand -base64 32"). '
                     'Every key a stored message was sealed with must stay '
                     'listed while such messages live.'),
    cfg.StrOpt('active_key',
               help='ID of the key new messages are sealed with. Default: '
                    'the first of keys.'),
]


wakeup_group = cfg.OptGroup(
    'wakeup', title='Wake-ups of long polls and WebSocket subscriptions',
    help='How a process that stores messages (bridge-api, bridge-listener) '
         'tells every bridge-api worker that a queue has new messages. On '
         'PostgreSQL: LISTEN/NOTIFY in the database (any host). Otherwise: '
         'a Unix datagram socket per API worker in socket_dir (the '
         'processes of one host only).')
wakeup_opts = [
    cfg.StrOpt('socket_dir',
               help='Directory of the API workers\' wake-up sockets; give '
                    'bridge-api and bridge-listener the same one. Default: '
                    '$state_path/wakeups.'),
]


def list_opts():
    """Option groups and their options, for registration and for
    oslo-config-generator."""
    return [
        (None, default_opts),
        (api_group, api_opts),
        (websocket_group, websocket_opts),
        (storage_group, storage_opts),
        (pooling_group, pooling_opts),
        (limits_group, limits_opts),
        (listener_group, listener_opts),
        (translation_group, translation_opts),
        (notifier_group, notifier_opts),
        (metrics_group, metrics_opts),
        (smtp_group, smtp_opts),
        (signed_url_group, signed_url_opts),
        (quotas_group, quotas_opts),
        (encryption_group, encryption_opts),
        (wakeup_group, wakeup_opts),
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
