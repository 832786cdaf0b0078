from __future__ import annotations

import click

from ..errors import ConfigError
from ..prompts import PromptRegistry
from ..prompts.links import check_links
from ..store.cipher import BodyCipher
from .common import config_option, load


@click.command()
@config_option
def check(config_path: str | None) -> None:
    """Validate the config file without serving."""
    config = load(config_path)
    if config.logging.encryption_key_env:  # serving needs the key: say so now rather than at start-up
        BodyCipher.from_env(config.logging.encryption_key_env)
    if config.prompts.dir:  # the prompt files too, and that they fit the config
        try:
            check_links(config, PromptRegistry(config.prompts.dir))
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    targets = sum(len(a.targets) for a in config.models.values())
    click.echo(f"{config.source}: ok — {len(config.providers)} providers, {len(config.models)} models "
               f"({targets} targets), {len(config.keys)} keys")
