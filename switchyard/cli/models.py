from __future__ import annotations

import click

from .common import config_option, load, table


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
def models(ctx, config_path: str | None) -> None:
    """Model aliases and the targets behind them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_models, config_path=config_path)


@models.command("list")
@config_option
def list_models(config_path: str | None = None) -> None:
    """List configured aliases with their strategy and targets."""
    config = load(config_path, require_env=False)
    rows = []
    for alias in config.models.values():
        for i, target in enumerate(alias.targets):
            provider = config.providers[target.provider]
            rows.append({"alias": alias.name if i == 0 else "", "strategy": alias.strategy if i == 0 else "",
                         "target": target.label, "kind": provider.kind,
                         "where": "local" if provider.local else "remote", "weight": target.weight})
    click.echo(table(rows, ["alias", "strategy", "target", "kind", "where", "weight"]))
