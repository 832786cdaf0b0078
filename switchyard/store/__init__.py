from .base import KeyRecord, Store
from .sqlite import SQLiteStore

__all__ = ["KeyRecord", "SQLiteStore", "Store", "open_store"]


def open_store(config) -> Store:
    """The store named by the config's `store` section."""
    return SQLiteStore(config.store.path)
