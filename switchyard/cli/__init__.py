"""The `switchyard` command: one click group, one module per command group."""

from __future__ import annotations

import click

from .. import __version__
from ..errors import ConfigError
from ..plugins import plugin_manager
from . import audit, chat, check, costs, experiments, keys, logs, models, prompts, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="switchyard")
def cli() -> None:
    """Switchyard: one OpenAI-compatible endpoint for local and remote models."""


for command in (serve.serve, check.check, chat.chat, models.models, costs.costs, keys.keys, logs.logs,
                audit.audit, experiments.experiments, prompts.prompts):
    cli.add_command(command)
plugin_manager().hook.register_commands(cli=cli)


def main() -> None:
    try:
        cli()
    except ConfigError as exc:  # found after loading, e.g. a missing encryption key: one line, no traceback
        raise SystemExit(f"Error: {exc}") from None
