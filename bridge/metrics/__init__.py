"""Prometheus metrics of bridge's processes (prometheus-client).

* :mod:`.families`: every counter and histogram, with its labels. Labels
  come from bounded sets only (route templates, methods, statuses, the
  rules' services and families, delivery kinds and outcomes), never from
  client input.
* :mod:`.multiproc`: prometheus-client's multi-process mode, for servers
  whose workers are processes.
* :mod:`.sampler`: gauges read from storage at most every
  ``[metrics] sample_interval`` seconds (queue depth and oldest message
  age, subscription backlogs), never per request.
* :mod:`.server`: the HTTP endpoint of bridge-listener and bridge-notifier.
"""
