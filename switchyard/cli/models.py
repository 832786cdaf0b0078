from __future__ import annotations

from pathlib import Path

import click

from ..engine import fit as advisor
from ..engine import hub
from ..engine.gguf import find_gguf_files, human_bytes, human_count, read_gguf_info
from ..engine.paths import default_models_dir
from .common import DEFAULT_CONFIG, config_option, load, table

dir_option = click.option("--dir", "dirs", multiple=True, type=click.Path(file_okay=False),
                          help="Models dir to look in (repeatable; default: $SWITCHYARD_MODELS_DIR "
                               "or ~/.cache/switchyard/models).")


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
def models(ctx, config_path: str | None) -> None:
    """Model aliases, and the GGUF files the local engine can run."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_models, config_path=config_path, require_config=True)


@models.command("list")
@config_option
@dir_option
def list_models(config_path: str | None = None, dirs: tuple[str, ...] = (), require_config: bool = False) -> None:
    """List configured aliases with their targets, and the GGUF files on disk.

    Without a config file (--config, $SWITCHYARD_CONFIG or ./switchyard.yaml) only the
    GGUF files are listed."""
    config = None
    if config_path or require_config or Path(DEFAULT_CONFIG).exists():
        config = load(config_path, require_env=False)
        rows = []
        for alias in config.models.values():
            for i, target in enumerate(alias.targets):
                provider = config.providers[target.provider]
                rows.append({"alias": alias.name if i == 0 else "", "strategy": alias.strategy if i == 0 else "",
                             "target": target.label, "kind": provider.kind,
                             "where": "local" if provider.local else "remote", "weight": target.weight})
        click.echo(table(rows, ["alias", "strategy", "target", "kind", "where", "weight"]))
        click.echo()

    locations = _locations(config, dirs)
    for where, files in locations:
        if where.is_dir():
            click.echo(f"GGUF models in {where}:")
        elif where.is_file():
            click.echo(f"GGUF model file {where}:")
        else:
            click.echo(f"GGUF models in {where}: (not found)\n")
            continue
        if not files:
            click.echo("(none)\n")
            continue
        rows, problems = [], []
        for path in files:
            try:
                info = read_gguf_info(path)
            except (ValueError, OSError) as exc:
                rows.append({"file": path.name, "size": human_bytes(_size(path)), "quant": "unreadable"})
                problems.append(str(exc))
                continue
            rows.append({"file": path.name, "arch": info.architecture, "params": human_count(info.parameters),
                         "quant": info.quantization, "ctx": info.context_length,
                         "size": human_bytes(info.size_bytes), "name": info.name})
        click.echo(table(rows, ["file", "arch", "params", "quant", "ctx", "size", "name"]))
        for problem in problems:
            click.echo(f"warning: {problem}", err=True)
        click.echo()
    if not any(files for _, files in locations):
        click.echo("Get a model with `switchyard models pull OWNER/REPO/FILE.gguf`, or copy a .gguf file into "
                   f"{locations[0][0]} (see docs/models.md).")


def _locations(config, dirs: tuple[str, ...]) -> list[tuple[Path, list[Path]]]:
    """The --dir dirs (else the default models dir), then each llamacpp provider's
    models_dir and model_path; each with the GGUF files found there."""
    places: list[Path] = [Path(d).expanduser() for d in dirs] or [default_models_dir()]
    for provider in (config.providers.values() if config is not None else ()):
        if getattr(provider, "kind", None) != "llamacpp":
            continue
        for key in ("models_dir", "model_path"):
            value = getattr(provider, key, None)
            if value:
                places.append(Path(value).expanduser())
    out, seen = [], set()
    for place in places:
        key = place.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append((place, find_gguf_files([place])))
    return out


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


@models.command("pull")
@click.argument("repo_file", metavar="OWNER/REPO/FILE")
@click.option("--dir", "dest", type=click.Path(file_okay=False),
              help="Where to save it (default: $SWITCHYARD_MODELS_DIR or ~/.cache/switchyard/models).")
def pull_model(repo_file: str, dest: str | None) -> None:
    """Download a GGUF file from the Hugging Face hub ($HF_ENDPOINT, $HF_TOKEN).

    Example: switchyard models pull bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf
    An interrupted download resumes when the command is run again."""
    try:
        path = hub.pull(repo_file, Path(dest) if dest else default_models_dir())
    except hub.HubError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        info = read_gguf_info(path)
    except (ValueError, OSError) as exc:
        click.echo(f"saved {path}")
        click.echo(f"warning: {exc}", err=True)
        return
    click.echo(f"saved {path} ({human_bytes(info.size_bytes)}, {info.architecture}, "
               f"{human_count(info.parameters)} parameters, {info.quantization}, context {info.context_length})")


@models.command("fit")
@click.option("--ctx", "n_ctx", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Context length to size the KV cache for.")
@click.option("--model", "model_paths", multiple=True, type=click.Path(dir_okay=False),
              help="A GGUF file to check (repeatable).")
@click.option("--no-bench", is_flag=True, help="Skip the ~0.2 s memory bandwidth measurement; assume 10 GB/s.")
def fit_models(n_ctx: int, model_paths: tuple[str, ...], no_bench: bool) -> None:
    """Which models fit this machine, and roughly how fast they decode (see docs/models.md)."""
    infos = []
    for p in model_paths:
        try:
            infos.append(read_gguf_info(p))
        except (ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
    hw = advisor.detect_hardware(measure=not no_bench)
    click.echo("This machine:")
    for line in hw.describe():
        click.echo("  " + line)
    click.echo()
    click.echo(f"Common model sizes at a {n_ctx}-token context (f16 KV cache):")
    rows = [_row(e) for e in advisor.reference_table(n_ctx, hw)]
    click.echo(table(rows, ["model", "quant", "bpw", "weights", "kv cache", "total", "fits", "tok/s"]))
    click.echo("  shapes: " + ", ".join(f"{k} = {s.reference}" for k, s in advisor.REFERENCE_MODELS.items()))
    click.echo("  fits: yes = in available memory, tight = only in total RAM; tok/s: CPU decode estimate")
    if infos:
        click.echo()
        click.echo("Your files:")
        rows = []
        for info in infos:
            est = advisor.estimate_file(info, n_ctx, hw)
            rows.append({"file": info.path.name, "arch": info.architecture,
                         "params": human_count(info.parameters), "ctx": est.n_ctx, **_row(est)})
            del rows[-1]["model"]
        click.echo(table(rows, ["file", "arch", "params", "quant", "ctx", "weights", "kv cache", "total",
                                "fits", "tok/s"]))
        if any(info.context_length and info.context_length < n_ctx for info in infos):
            click.echo("  ctx: capped at the context length the model was trained for")


def _row(e: advisor.Estimate) -> dict:
    tps = e.tokens_per_s
    return {"model": e.label, "quant": e.quantization,
            "bpw": f"{e.bits_per_weight:.2f}" if e.bits_per_weight else None,
            "weights": human_bytes(e.weights), "kv cache": human_bytes(e.kv_cache), "total": human_bytes(e.total),
            "fits": e.fit, "tok/s": f"{tps:.0f}" if tps >= 100 else f"{tps:.1f}" if tps >= 1 else f"{tps:.2f}"}
