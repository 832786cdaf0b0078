from __future__ import annotations

import difflib
from pathlib import Path

import click
import yaml

from ..errors import APIError, ConfigError
from ..prompts import PromptRegistry, PromptVersion, parse_ref, promote
from .common import DEFAULT_CONFIG, config_option, load, table

dir_option = click.option("--dir", "prompts_dir", type=click.Path(file_okay=False),
                          help="Prompts folder (default: prompts.dir of the config).")


@click.group(invoke_without_command=True)
@config_option
@dir_option
@click.pass_context
def prompts(ctx, config_path: str | None, prompts_dir: str | None) -> None:
    """Versioned prompt templates: list, show, diff and promote (see docs/prompts.md)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_prompts, config_path=config_path, prompts_dir=prompts_dir)


def _folder(config_path: str | None, prompts_dir: str | None) -> Path:
    if prompts_dir:
        return Path(prompts_dir)
    if config_path is None and not Path(DEFAULT_CONFIG).exists():
        raise click.ClickException(f"no prompts folder: pass --dir DIR, or --config FILE (or ./{DEFAULT_CONFIG}) "
                                   "with prompts.dir set")
    config = load(config_path, require_env=False)
    if not config.prompts.dir:
        raise click.ClickException(f"{config.source}: sets no prompts.dir; add `prompts: {{dir: prompts}}` "
                                   "or pass --dir DIR")
    return Path(config.prompts.dir)


def _registry(config_path: str | None, prompts_dir: str | None, *, strict: bool = True) -> PromptRegistry:
    try:
        return PromptRegistry(_folder(config_path, prompts_dir), strict=strict)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _resolve(registry: PromptRegistry, ref: str) -> PromptVersion:
    try:
        return registry.resolve(ref)
    except APIError as exc:
        raise click.ClickException(exc.message) from None


@prompts.command("list")
@config_option
@dir_option
def list_prompts(config_path: str | None = None, prompts_dir: str | None = None) -> None:
    """List the prompts with their live version, versions, alias and description.

    Files that do not load are reported on stderr (exit status 1); the others are listed."""
    registry = _registry(config_path, prompts_dir, strict=False)
    rows = [{"name": p.name, "live": p.live, "versions": ",".join(map(str, sorted(p.versions))),
             "alias": p.live_version.alias, "description": p.description} for p in registry.prompts()]
    click.echo(table(rows, ["name", "live", "versions", "alias", "description"]))
    for fname in sorted(registry.errors):
        click.echo(f"error: {registry.errors[fname]}", err=True)
    if registry.errors:
        click.get_current_context().exit(1)


@prompts.command("show")
@click.argument("ref", metavar="NAME[@VERSION]")
@config_option
@dir_option
def show_prompt(ref: str, config_path: str | None, prompts_dir: str | None) -> None:
    """Print a version (default: the live one) as YAML: alias, variables, params, output schema, messages."""
    version = _resolve(_registry(config_path, prompts_dir), ref)
    click.echo(version_yaml(version, header=True), nl=False)


@prompts.command("diff")
@click.argument("name")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@config_option
@dir_option
def diff_prompt(name: str, a: str, b: str, config_path: str | None, prompts_dir: str | None) -> None:
    """Unified diff of two versions of NAME (numbers, or `live`)."""
    registry = _registry(config_path, prompts_dir)
    base, _ = parse_ref(name)
    left, right = _resolve(registry, f"{base}@{a}"), _resolve(registry, f"{base}@{b}")
    lines = list(difflib.unified_diff(version_yaml(left).splitlines(keepends=True),
                                      version_yaml(right).splitlines(keepends=True),
                                      fromfile=left.ref, tofile=right.ref))
    if not lines:
        click.echo(f"{left.ref} and {right.ref} are the same")
        return
    for line in lines:
        click.echo(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n", nl=False)


@prompts.command("promote")
@click.argument("name")
@click.argument("version")
@config_option
@dir_option
def promote_prompt(name: str, version: str, config_path: str | None, prompts_dir: str | None) -> None:
    """Make VERSION the live version of NAME: rewrites the `live:` line of its file.

    A running gateway serves it within about a second, without a restart."""
    folder = _folder(config_path, prompts_dir)
    try:
        previous, live = promote(folder, name, version)
    except APIError as exc:
        raise click.ClickException(exc.message) from None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if previous == live:
        click.echo(f"{name}: version {live} is already live")
    else:
        click.echo(f"{name}: live version {previous} -> {live} ({folder / (name + '.yaml')})")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # multi-line templates as `|` blocks, so diffs show changed lines rather than one escaped string
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def version_yaml(version: PromptVersion, *, header: bool = False) -> str:
    """The version as YAML. header: with its name, number and whether it is live."""
    doc: dict = {}
    if header:
        doc.update(prompt=version.name, version=version.version, live=version.live)
    doc.update(model=version.alias, variables=list(version.variables), params=version.params or {},
               output_schema=version.output_schema, messages=[dict(m) for m in version.messages])
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
