"""Prompt files: one YAML file per prompt, `<name>.yaml`, holding numbered versions.

    name: support-reply
    description: Answer a support ticket politely
    live: 2
    versions:
      1: {model: chat, variables: [customer, issue], messages: [...]}
      2: {model: chat, variables: [...], params: {...}, output_schema: {...}, messages: [...]}

Unknown keys are errors. Every problem is reported as `file:line: key.path: message`,
as the config loader does; templates are compiled when the file is read, so a
syntax error or a variable the version does not declare is a load-time error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import yaml
from jinja2 import Template, TemplateSyntaxError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yaml.constructor import ConstructorError, SafeConstructor

from ..errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none",
                          "True", "False", "None", "loop", "self"})
# request fields a version may not set through `params`: the prompt decides the model and the
# messages, the client decides streaming, and the output schema has its own key
RESERVED_PARAMS = frozenset({"model", "messages", "variables", "stream", "stream_options", "response_format"})

Path_ = tuple[str | int, ...]


class PromptFileError(ConfigError):
    """A prompt file is unreadable or invalid; the message has one `file:line: key: problem` per line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageTemplate(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str  # a Jinja2 template


class VersionSpec(_Strict):
    model: str = Field(min_length=1)  # the alias this version is served by
    variables: list[str] = []
    messages: list[MessageTemplate] = Field(min_length=1)
    params: dict[str, Any] = {}  # request fields (temperature, max_tokens, ...) this version sets
    output_schema: dict[str, Any] | None = None  # JSON Schema; becomes response_format json_schema


class PromptFile(_Strict):
    name: str
    description: str = ""
    live: int  # the version served when a client names none
    versions: dict[Annotated[int, Field(ge=1)], VersionSpec] = Field(min_length=1)


@dataclass(frozen=True, eq=False)
class PromptVersion:
    """One version of a prompt, with its templates compiled."""

    name: str
    version: int
    live: bool  # whether this was the live version when the file was read
    alias: str
    variables: tuple[str, ...]
    messages: tuple[dict[str, str], ...]  # {role, content} with content the template's source
    params: dict[str, Any]
    output_schema: dict[str, Any] | None
    source: str  # the file it came from
    line: int  # of the version's `model:`, for problems found against the config later
    templates: tuple[Template, ...] = field(repr=False, default=())

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, eq=False)
class Prompt:
    name: str
    description: str
    live: int
    versions: dict[int, PromptVersion]
    source: str

    @property
    def live_version(self) -> PromptVersion:
        return self.versions[self.live]


# --- where things are in the YAML text -------------------------------------------------------------

class _Located:
    """Each key path's line, which path parts are list indices, and the value nodes (for template lines)."""

    def __init__(self, root: yaml.Node | None):
        self.lines: dict[Path_, int] = {}
        self.nodes: dict[Path_, yaml.Node] = {}
        self.items: set[Path_] = set()  # paths whose last part is a list index
        self.duplicates: list[tuple[Path_, int]] = []
        self._constructor = SafeConstructor()
        if root is not None:
            self._walk(root, ())

    def _key(self, node: yaml.Node) -> Any:
        # the key as the parser reads it, so `1:` is the int 1, as in pydantic's error locations
        try:
            key = self._constructor.construct_object(node, deep=True)
        except ConstructorError:
            return node.value
        return key if isinstance(key, str | int) else str(key)

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        self.nodes[path] = node
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value in node.value:
                key = self._key(key_node)
                child = (*path, key)
                if key in seen:
                    self.duplicates.append((child, key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[child] = key_node.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.items.add((*path, i))
                self._walk(item, (*path, i))

    def line(self, path: Path_) -> int:
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return self.lines.get(probe, 1)

    def dotted(self, path: Path_) -> str:
        text = ""
        for i, part in enumerate(path):
            if (*path[:i], part) in self.items:
                text += f"[{part}]"
            else:
                text += f".{part}" if text else str(part)
        return text or "(top level)"

    def template_line(self, path: Path_, template_line: int) -> int:
        """The file line of a template's line (1-based), when the template is a YAML scalar."""
        node = self.nodes.get(path)
        if not isinstance(node, yaml.ScalarNode):
            return self.line(path)
        first = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
        return first + max(template_line - 1, 0) if node.style != ">" else first


class _Errors:
    def __init__(self, source: str, where: _Located):
        self.source, self.where, self.messages = source, where, []

    def add(self, path: Path_, message: str, line: int | None = None) -> None:
        line = self.where.line(path) if line is None else line
        self.messages.append(f"{self.source}:{line}: {self.where.dotted(path)}: {message}")

    def add_validation(self, exc: ValidationError) -> None:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            if loc and loc[-1] == "[key]":
                loc, message = loc[:-1], f"not a version number (1, 2, ...): {message}"
            self.add(loc, message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise PromptFileError("\n".join(self.messages))


# --- reading a file ---------------------------------------------------------------------------------

def parse_prompt(text: str, source: str = "<prompt>", *, name: str | None = None) -> Prompt:
    """Validate a prompt file's text. `name` is the name the file's name calls for, when known."""
    from .render import compile_template  # render imports this module

    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise PromptFileError(f"{source}{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    where = _Located(root)
    errors = _Errors(source, where)
    for path, line in where.duplicates:
        errors.add(path, "defined twice", line)
    if not isinstance(raw, dict):
        errors.add((), "expected a mapping with name, live and versions" if raw is not None else "the file is empty")
    errors.raise_if_any()
    try:
        spec = PromptFile.model_validate(raw)
    except ValidationError as exc:
        errors.add_validation(exc)
        errors.raise_if_any()
        raise  # unreachable: a validation error always adds a message

    if not NAME.match(spec.name):
        errors.add(("name",), "a prompt name is letters, digits, '.', '_' and '-', starting with a letter or digit")
    elif name is not None and spec.name != name:
        errors.add(("name",), f"must match the file name: expected {name!r}, got {spec.name!r}")
    if spec.live not in spec.versions:
        errors.add(("live",), f"no version {spec.live} under versions (versions: {_listing(spec.versions)})")

    versions: dict[int, PromptVersion] = {}
    for number, v in sorted(spec.versions.items()):
        at: Path_ = ("versions", number)
        seen: set[str] = set()
        for i, var in enumerate(v.variables):
            if not VARIABLE.match(var) or var in _JINJA_WORDS:
                errors.add((*at, "variables", i), f"{var!r} is not a usable variable name (letters, digits and _, "
                                                  "not starting with a digit, not a Jinja keyword)")
            elif var in seen:
                errors.add((*at, "variables", i), f"{var!r} is declared twice")
            seen.add(var)
        for key in v.params:
            if key in RESERVED_PARAMS:
                hint = "; use output_schema" if key == "response_format" else ""
                errors.add((*at, "params", key), f"a prompt version cannot set {key!r}{hint}")
        if v.output_schema is not None:
            try:
                jsonschema.validators.validator_for(v.output_schema).check_schema(v.output_schema)
            except jsonschema.SchemaError as exc:
                where_in = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                errors.add((*at, "output_schema"), f"not a valid JSON Schema at {where_in}: {exc.message}")
        templates = []
        for i, message in enumerate(v.messages):
            path = (*at, "messages", i, "content")
            try:
                template, used = compile_template(message.content)
            except TemplateSyntaxError as exc:
                errors.add(path, f"template error: {exc.message}", where.template_line(path, exc.lineno))
                continue
            except ValueError as exc:
                errors.add(path, str(exc))
                continue
            undeclared = sorted(used - set(v.variables))
            if undeclared:
                errors.add(path, f"uses undeclared variable{'s' if len(undeclared) > 1 else ''} "
                                 f"{', '.join(undeclared)} (declare under versions.{number}.variables)")
            templates.append(template)
        versions[number] = PromptVersion(
            name=spec.name, version=number, live=number == spec.live, alias=v.model, variables=tuple(v.variables),
            messages=tuple({"role": m.role, "content": m.content} for m in v.messages), params=dict(v.params),
            output_schema=v.output_schema, source=source, line=where.line((*at, "model")),
            templates=tuple(templates))
    errors.raise_if_any()
    return Prompt(name=spec.name, description=spec.description, live=spec.live, versions=versions, source=source)


def load_prompt(path: str | Path) -> Prompt:
    """Read `<name>.yaml`; its `name:` must be `<name>`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptFileError(f"{p}: cannot read prompt file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"{p}: not UTF-8 text: {exc.reason}") from None
    return parse_prompt(text, str(p), name=p.stem)


def _listing(versions) -> str:
    return ", ".join(str(n) for n in sorted(versions))
