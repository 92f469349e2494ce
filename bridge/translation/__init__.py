"""Translation: OpenStack notifications into tenant queue messages.

Pure functions over dicts, driven by a YAML rules file operators edit
(default: ``etc/bridge/rules.yaml``, shipped in this package as
``default_rules.yaml``). The listener calls :func:`translate` once per
notification; the only I/O here is :func:`load_rules` reading the file.

Modules, one concept each:

* :mod:`.model`: ``Notification`` in; ``Routed``, ``Dropped`` or
  ``Unroutable`` out.
* :mod:`.rules`: loading and validating the rules file into
  :mod:`.ruleset` objects.
* :mod:`.tenant`: owner resolution (the project that owns the resource).
* :mod:`.routing`: queue choice, drop rules, queue name sanitizing.
* :mod:`.redaction`: removal of operator-only data.
* :mod:`.body`: the documented, versioned tenant message body.
* :mod:`.pipeline`: :func:`translate`, the whole pipeline.
"""

from bridge.translation.body import BODY_VERSION
from bridge.translation.model import Dropped, Notification, Routed, Unroutable
from bridge.translation.routing import sanitize_queue_name
from bridge.translation.rules import (RulesError, default_rules_path,
                                      load_rules, parse_rules)
from bridge.translation.ruleset import Rules
from bridge.translation.pipeline import translate

__all__ = [
    'BODY_VERSION', 'Dropped', 'Notification', 'Routed', 'Rules',
    'RulesError', 'Unroutable', 'default_rules_path', 'load_rules',
    'parse_rules', 'sanitize_queue_name', 'translate',
]
