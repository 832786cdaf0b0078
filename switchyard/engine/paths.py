"""Where local model files live by default."""

from __future__ import annotations

import os
from pathlib import Path


def default_models_dir() -> Path:
    """$SWITCHYARD_MODELS_DIR, else ~/.cache/switchyard/models."""
    configured = os.environ.get("SWITCHYARD_MODELS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "switchyard" / "models"
