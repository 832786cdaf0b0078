from __future__ import annotations

import ipaddress
import logging
import os

import click

from .common import config_option, load


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@config_option
@click.option("--host", help="Interface to bind (overrides server.host).")
@click.option("--port", type=int, help="Port to bind (overrides server.port).")
@click.option("--workers", type=int, help="Worker processes (overrides server.workers).")
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config_path, host, port, workers, log_level) -> None:
    """Serve the OpenAI-compatible API."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load(config_path)
    host = host or config.server.host
    port = config.server.port if port is None else port
    workers = workers or config.server.workers

    from ..server import create_app

    app = create_app(config)
    if app.gateway.keys.open:
        if not _is_loopback(host):
            raise click.ClickException(f"no keys are configured, so the gateway runs open and binds to "
                                       f"127.0.0.1 only; add keys (see docs/configuration.md) to serve on {host}")
        click.echo("switchyard: no keys configured — serving without authentication, on loopback only", err=True)
    click.echo(f"switchyard: serving {len(config.models)} models on http://{host}:{port}", err=True)
    options = dict(host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                   http="httptools", loop="uvloop", timeout_graceful_shutdown=30)
    if workers > 1:
        app.gateway.store.close()
        os.environ["SWITCHYARD_CONFIG"] = os.path.abspath(config.source)
        uvicorn.run("switchyard.server.factory:app_from_env", factory=True, workers=workers, **options)
    else:
        uvicorn.run(app, **options)
