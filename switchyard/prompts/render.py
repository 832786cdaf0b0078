"""Rendering a prompt version with a client's variables.

Templates run in Jinja2's sandbox with StrictUndefined and no autoescaping: they
can read the variables they declare and format them, not reach Python objects'
internals, other templates or files. Variable values are data: they are never
rendered as templates themselves."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from ..errors import BadRequest
from .model import PromptVersion

# keep_trailing_newline: a template renders exactly as the same text without tags would
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

# request fields that say the same thing: a client setting one of them overrides the version's other
_SAME_FIELD = {"max_tokens": ("max_tokens", "max_completion_tokens"),
               "max_completion_tokens": ("max_tokens", "max_completion_tokens")}


def compile_template(source: str) -> tuple[Template, set[str]]:
    """The compiled template and the variables it reads.

    Raises TemplateSyntaxError, or ValueError for what the sandbox would refuse anyway
    but can be seen before any request: private attributes and other templates."""
    ast = _ENV.parse(source)
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        raise ValueError(f"line {node.lineno}: templates cannot include, import or extend other templates")
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise ValueError(f"line {node.lineno}: templates cannot read attributes starting with '_' ({name})")
    return _ENV.from_string(ast), set(meta.find_undeclared_variables(ast))


@dataclass
class RenderedPrompt:
    name: str
    version: int
    alias: str  # the model alias to route the request to
    messages: list[dict[str, Any]]  # the version's messages rendered, then the client's
    params: dict[str, Any]  # request fields the version sets (defaults: the client's own values win)
    response_format: dict[str, Any] | None  # from the version's output_schema

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request body to route: the client's body without `variables`, with the alias as
        `model`, the rendered messages, and the version's params and response_format for every
        field the client left out (or sent as null). The client's body is not changed."""
        out = {k: v for k, v in body.items() if k != "variables"}
        out["model"] = self.alias
        out["messages"] = copy.deepcopy(self.messages)
        for key, value in self.params.items():
            if all(out.get(k) is None for k in _SAME_FIELD.get(key, (key,))):
                out[key] = copy.deepcopy(value)
        if self.response_format is not None and out.get("response_format") is None:
            out["response_format"] = copy.deepcopy(self.response_format)
        return out


def response_format_for(version: PromptVersion) -> dict[str, Any] | None:
    if version.output_schema is None:
        return None
    name = re.sub(r"[^A-Za-z0-9_-]", "_", version.name)[:64]
    return {"type": "json_schema", "json_schema": {"name": name, "schema": copy.deepcopy(version.output_schema)}}


def render(version: PromptVersion, variables: dict[str, Any] | None,
           client_messages: list[dict[str, Any]] | None = None) -> RenderedPrompt:
    """Fill the version's templates with `variables` (exactly the declared ones) and append
    the client's messages. Missing or undeclared variables, or a template failing at
    render time (a sandbox refusal, an attribute a value lacks), are BadRequest."""
    variables = {} if variables is None else variables
    if not isinstance(variables, dict):
        raise BadRequest(f"prompt {version.ref}: `variables` must be a JSON object, got {_json_type(variables)}",
                         code="invalid_prompt_variables")
    missing = [v for v in version.variables if v not in variables]
    extra = sorted(k for k in variables if k not in version.variables)
    problems = []
    if missing:
        problems.append(f"missing variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if extra:
        problems.append(f"unknown variable{'s' if len(extra) > 1 else ''} {', '.join(map(str, extra))}")
    if problems:
        declared = ", ".join(version.variables) or "none"
        raise BadRequest(f"prompt {version.ref}: {'; '.join(problems)} (it takes: {declared})",
                         code="invalid_prompt_variables")
    client_messages = [] if client_messages is None else client_messages
    if not isinstance(client_messages, list) or not all(isinstance(m, dict) for m in client_messages):
        raise BadRequest(f"prompt {version.ref}: `messages` must be a list of message objects")

    messages: list[dict[str, Any]] = []
    for i, (message, template) in enumerate(zip(version.messages, version.templates, strict=True)):
        try:
            content = template.render(variables)
        except TemplateError as exc:
            raise BadRequest(f"prompt {version.ref}: message {i} could not be rendered: {exc.message or exc}",
                             code="prompt_render_failed") from None
        except Exception as exc:  # a value of the wrong type for what the template does with it
            raise BadRequest(f"prompt {version.ref}: message {i} could not be rendered: "
                             f"{type(exc).__name__}: {exc}", code="prompt_render_failed") from None
        messages.append({"role": message["role"], "content": content})
    messages.extend(copy.deepcopy(client_messages))
    return RenderedPrompt(name=version.name, version=version.version, alias=version.alias, messages=messages,
                          params=copy.deepcopy(version.params), response_format=response_format_for(version))


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__
