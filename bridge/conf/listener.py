"""Options of bridge-listener and of translation, and of the wake-ups it
sends the API."""

from oslo_config import cfg

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
