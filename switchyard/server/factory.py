"""Entry point for uvicorn's worker processes (`serve --workers N`): each
worker builds its own app from the config file named in SWITCHYARD_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import load_config
from ..config.embedded import embedded_config
from .app import SwitchyardApp, create_app


def app_from_env() -> SwitchyardApp:
    if "SWITCHYARD_MODEL" in os.environ:
        return create_app(embedded_config(Path(os.environ["SWITCHYARD_MODEL"])))
    return create_app(load_config(os.environ["SWITCHYARD_CONFIG"]))
