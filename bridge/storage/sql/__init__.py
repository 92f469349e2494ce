"""The SQL storage driver (SQLAlchemy Core): SQLite, PostgreSQL, MariaDB.

``schema`` (tables), ``engine`` (per-backend engines), ``executor`` and
``transactor`` (how statements and transactions run), ``queues``,
``messages`` and ``claims`` (the statements), ``driver`` (SqlStorage).
"""

from bridge.storage.sql.driver import SqlStorage

__all__ = ['SqlStorage']
