"""MongoDB storage driver (pymongo 4.x); see :mod:`.storage`."""

from bridge.storage.mongodb.storage import MongoStorage

__all__ = ['MongoStorage']
