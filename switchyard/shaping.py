"""Shaping a chat request before routing: prompt templates and experiment arms.

A request naming `prompt:NAME[@VERSION]` (as its model, or in the
x-switchyard-prompt header) is rendered from the registry and routed to the
version's alias. An alias running an experiment assigns the caller to an arm,
which may swap the target, the prompt version or request parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config.schema import Alias, Target
from .errors import BadRequest, NotFound
from .experiments.assign import assign, sticky_unit
from .prompts import PREFIX, PromptRegistry, render

PROMPT_HEADER = b"x-switchyard-prompt"


@dataclass(slots=True)
class Shaped:
    sent: dict[str, Any]  # the client's body, which every rendering starts from
    body: dict[str, Any]
    prompt: str | None = None  # "name", version, when a prompt was rendered
    prompt_version: str | None = None
    experiment: str | None = None
    variant: str | None = None
    targets: list[Target] | None = None  # an arm's own target, replacing the alias's
    notes: list[str] = field(default_factory=list)


class Shaper:
    def __init__(self, prompts_dir: str | None):
        self.registry = PromptRegistry(prompts_dir) if prompts_dir else None

    def _render(self, shaped: Shaped, ref: str, variables: Any) -> None:
        if self.registry is None:
            raise NotFound(f"'{ref}' names a prompt, but no prompts folder is configured (prompts.dir)",
                           code="prompt_not_found")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("'variables' must be an object")
        # from the client's own messages and fields: an arm's prompt replaces the one the client
        # named, it does not wrap it
        rendered = render(self.registry.resolve(ref), variables or {}, shaped.sent.get("messages") or [])
        shaped.body = rendered.apply(shaped.sent)
        shaped.prompt, shaped.prompt_version = rendered.name, str(rendered.version)

    def prompt(self, body: dict[str, Any], header: str | None) -> Shaped:
        """Render the prompt the request names, if it names one."""
        shaped = Shaped(body, body)
        model = body.get("model")
        ref = header or (model if isinstance(model, str) and model.startswith(PREFIX) else None)
        if ref:
            self._render(shaped, ref, body.get("variables"))
        elif "variables" in body:
            shaped.body = {k: v for k, v in body.items() if k != "variables"}
        return shaped

    def experiment(self, shaped: Shaped, alias: Alias, variables: Any, user: str | None,
                   session: str | None) -> None:
        """Put the caller in an arm of the alias's experiment, sticky by user or session."""
        experiment = alias.experiment
        if experiment is None:
            return
        variant = assign(experiment, sticky_unit(experiment, user, session))
        shaped.experiment, shaped.variant = experiment.name, variant.name
        if variant.prompt:
            self._render(shaped, variant.prompt, variables)
            shaped.body["model"] = alias.name  # the arm's prompt, still served by this alias
        if variant.params:
            shaped.body = {**shaped.body, **variant.params}
        if variant.target is not None:
            shaped.targets = [variant.target]
