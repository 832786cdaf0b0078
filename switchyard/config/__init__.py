from .load import load_config, parse_config
from .schema import Alias, LoadedConfig, Target

__all__ = ["Alias", "LoadedConfig", "Target", "load_config", "parse_config"]
