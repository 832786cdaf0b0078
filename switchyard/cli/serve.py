from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ..config.embedded import embedded_config, find_local_model
from ..engine.paths import default_models_dir
from ..errors import ConfigError
from ..net import is_loopback
from ..prompts.links import check_links
from .common import DEFAULT_CONFIG, config_option, load, opening_log


@click.command()
@config_option
@click.option("--host", help="Interface to bind (overrides server.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port to bind (overrides server.port).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (overrides server.workers).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False),
              help="Serve this GGUF file with the embedded engine, without a config file.")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config_path, host, port, workers, model_path, log_level) -> None:
    """Serve the OpenAI-compatible API.

    With no --config and no ./switchyard.yaml, serves --model (or the first GGUF
    file in the models folder) with the embedded local engine."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = _embedded(model_path) if model_path or not (config_path or Path(DEFAULT_CONFIG).exists()) \
        else load(config_path)
    host = host or config.server.host
    port = config.server.port if port is None else port
    workers = workers or config.server.workers

    from ..server import create_app

    try:
        with opening_log(config):
            app = create_app(config)
        if app.gateway.shaper.registry is not None:
            check_links(config, app.gateway.shaper.registry)
    except ConfigError as exc:  # a prompt file, say: one readable error, no traceback
        raise click.ClickException(str(exc)) from None
    if app.gateway.keys.open:
        if not is_loopback(host):
            raise click.ClickException(f"no keys are configured, so the gateway runs open and binds to "
                                       f"127.0.0.1 only; add keys (see docs/configuration.md) to serve on {host}")
        click.echo("switchyard: no keys configured — serving without authentication, on loopback only", err=True)
    where = f"[{host}]" if ":" in host else host  # an IPv6 address
    click.echo(f"switchyard: serving {len(config.models)} models on http://{where}:{port}", err=True)
    options = dict(host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                   http="httptools", loop="uvloop", timeout_graceful_shutdown=30)
    if workers > 1:
        app.gateway.store.close()
        if model_path:
            os.environ["SWITCHYARD_MODEL"] = str(Path(model_path).resolve())
        else:
            os.environ["SWITCHYARD_CONFIG"] = os.path.abspath(config.source)
        uvicorn.run("switchyard.server.factory:app_from_env", factory=True, workers=workers, **options)
    else:
        uvicorn.run(app, **options)


def _embedded(model_path: str | None):
    if model_path is None:
        found = find_local_model(default_models_dir())
        if found is None:
            raise click.ClickException(
                f"no config and no model: pass --model PATH.gguf, or get one with "
                f"`switchyard models pull OWNER/REPO/FILE.gguf` (into {default_models_dir()})")
        model_path = str(found)
    if not Path(model_path).is_file():
        raise click.ClickException(f"--model: no such file: {model_path}")
    try:
        return embedded_config(Path(model_path).resolve())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
