"""Whether the prompts folder and the config agree.

`prompt:NAME` is served by the alias the live version's `model:` names, and an
experiment arm renders the version its `prompt:` names; either one missing would
only show as 404s at request time, so `check` and `serve` look for them up front.
(Older versions may name aliases since retired: clients pinning them get the 404.)"""

from __future__ import annotations

from ..config.load import file_errors
from ..config.schema import LoadedConfig
from ..errors import NotFound
from .registry import PromptRegistry


def check_links(config: LoadedConfig, registry: PromptRegistry) -> None:
    """Raise ConfigError, one `file:line: key: problem` per line, for every live prompt version
    whose alias the config lacks and every experiment arm whose prompt version is not found."""
    errors = file_errors(config.source)
    for i, alias in enumerate(config.models.values()):
        for j, variant in enumerate(alias.experiment.variants if alias.experiment else ()):
            if variant.prompt is not None:
                try:
                    registry.resolve(variant.prompt)
                except NotFound as exc:
                    errors.add(("models", i, "experiment", "variants", j, "prompt"), exc.message)
    for prompt in registry.prompts():
        live = prompt.live_version
        if live.alias not in config.models:
            errors.messages.append(f"{live.source}:{live.line}: versions.{live.version}.model: "
                                   f"no alias named {live.alias!r} under models in {config.source}")
    errors.raise_if_any()
