from .base import KeyRecord, Store
from .cipher import BodyCipher
from .sqlite import SQLiteStore

__all__ = ["KeyRecord", "SQLiteStore", "Store", "open_store"]


def open_store(config) -> Store:
    """The store named by the config's `store` section, sealing bodies when a key is configured."""
    key_env = config.logging.encryption_key_env
    return SQLiteStore(config.store.path, BodyCipher.from_env(key_env) if key_env else None)
