from __future__ import annotations

import click

from .common import config_option, load


@click.command()
@config_option
def check(config_path: str | None) -> None:
    """Validate the config file without serving."""
    config = load(config_path)
    targets = sum(len(a.targets) for a in config.models.values())
    click.echo(f"{config.source}: ok — {len(config.providers)} providers, {len(config.models)} models "
               f"({targets} targets), {len(config.keys)} keys")
