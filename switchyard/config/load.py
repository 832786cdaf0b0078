"""Reading and validating the YAML config.

Errors name the file, the line and the key path, and say what was expected."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError, NotFound
from ..guard.findings import BUILTIN_KINDS
from ..plugins import check_classes, provider_classes, router_classes
from ..prompts.model import RESERVED_PARAMS
from ..prompts.registry import parse_ref
from .schema import Alias, Config, LoadedConfig

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]


def _lines(node: yaml.Node, path: Path_ = (), out: dict[Path_, int] | None = None) -> dict[Path_, int]:
    """Map each key path in the YAML document to its 1-based line."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


class _Errors:
    def __init__(self, source: str, lines: dict[Path_, int]):
        self.source, self.lines, self.messages = source, lines, []

    def add(self, path: Path_, message: str) -> None:
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        self.messages.append(f"{self.source}:{line}: {_dotted(path)}: {message}")

    def add_validation(self, exc: ValidationError, prefix: Path_ = ()) -> None:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "value_error":  # a validator's own words, without pydantic's "Value error, "
                message = str(err["ctx"]["error"])
            self.add((*prefix, *loc), message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


def _interpolate(value: Any, path: Path_, errors: _Errors | None) -> Any:
    """Replace ${VAR} and ${VAR:-default} in strings with the environment's values."""
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            # as in the shell, ${VAR:-default} takes the default when VAR is unset or empty
            if default is not None and not os.environ.get(name):
                return default
            if name in os.environ:
                return os.environ[name]
            if errors is not None:
                errors.add(path, f"environment variable {name} is not set")
            return ""
        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), errors) for i, v in enumerate(value)]
    return value


def parse_config(text: str, source: str = "<config>", *, require_env: bool = True) -> LoadedConfig:
    """Validate a config's text. With require_env=False an unset ${VAR} reads as empty."""
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    raw = {} if raw is None else raw
    errors = _Errors(source, _lines(node) if node is not None else {})
    if not isinstance(raw, dict):
        errors.add((), "expected a mapping of sections (providers, models, ...)")
        errors.raise_if_any()
    raw = _interpolate(raw, (), errors if require_env else None)
    errors.raise_if_any()
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        errors.add_validation(exc)
        errors.raise_if_any()
    return _check(config, source, errors)


def _check(config: Config, source: str, errors: _Errors) -> LoadedConfig:
    kinds = provider_classes()
    providers = {}
    for name, entry in config.providers.items():
        kind = entry.get("kind")
        cls = kinds.get(kind) if isinstance(kind, str) else None
        if cls is None:
            errors.add(("providers", name, "kind"), f"expected one of {sorted(kinds)}, got {kind!r}")
            continue
        try:
            providers[name] = cls.config_class.model_validate(entry)
        except ValidationError as exc:
            errors.add_validation(exc, ("providers", name))

    routers, checks = router_classes(), check_classes()
    models = {}
    experiments: dict[str, str] = {}  # experiment name → the alias running it
    for i, alias in enumerate(config.models):
        if alias.name in models:
            errors.add(("models", i, "name"), f"alias {alias.name!r} is defined twice")
        models[alias.name] = alias
        if alias.strategy not in routers:
            errors.add(("models", i, "strategy"), f"expected one of {sorted(routers)}, got {alias.strategy!r}")
        for j, target in enumerate(alias.targets):
            if target.provider not in config.providers:
                errors.add(("models", i, "targets", j, "provider"),
                           f"no provider named {target.provider!r} under providers")
        # only a cascade runs checks on every answer, streamed ones included
        if alias.checks and alias.strategy in routers and alias.strategy != "cascade":
            errors.add(("models", i, "checks"), f"checks need strategy: cascade, not {alias.strategy!r}")
        for j, entry in enumerate(alias.checks):
            cls = checks.get(entry.get("type")) if isinstance(entry.get("type"), str) else None
            if cls is None:
                errors.add(("models", i, "checks", j, "type"),
                           f"expected one of {sorted(checks)}, got {entry.get('type')!r}")
                continue
            try:
                check = cls.config_class.model_validate(entry)
            except ValidationError as exc:
                errors.add_validation(exc, ("models", i, "checks", j))
                continue
            judge = getattr(check, "model", None)
            if judge is not None and judge not in {a.name for a in config.models}:
                errors.add(("models", i, "checks", j, "model"), f"no alias named {judge!r} under models")
        if alias.experiment is not None:
            _check_experiment(alias, ("models", i, "experiment"), config, experiments, errors)

    seen_keys: set[str] = set()
    for i, key in enumerate(config.keys):
        if key.name in seen_keys:
            errors.add(("keys", i, "name"), f"key name {key.name!r} is used twice")
        seen_keys.add(key.name)
        for j, alias in enumerate(key.models):
            if alias != "*" and alias not in models:
                errors.add(("keys", i, "models", j), f"no alias named {alias!r} under models")
    for i, kind in enumerate(config.privacy.detect or []):
        if kind not in BUILTIN_KINDS:  # a misspelt kind would silently turn its detection off
            errors.add(("privacy", "detect", i), f"expected one of {', '.join(BUILTIN_KINDS)}, got {kind!r}")
    for i, pattern in enumerate(config.privacy.patterns):
        try:
            re.compile(pattern.regex)
        except re.error as exc:
            errors.add(("privacy", "patterns", i, "regex"), f"not a valid regular expression: {exc}")
    errors.raise_if_any()
    return LoadedConfig(source=source, server=config.server, providers=providers, models=models,
                        prices=config.prices, keys=config.keys, teams=config.teams, logging=config.logging,
                        privacy=config.privacy, prompts=config.prompts, store=config.store, admin=config.admin)


def _check_experiment(alias: Alias, at: Path_, config: Config, seen: dict[str, str], errors: _Errors) -> None:
    experiment = alias.experiment
    if experiment.name in seen:  # the report reads the log by name: two aliases would mix their results
        errors.add((*at, "name"), f"experiment {experiment.name!r} already runs on alias {seen[experiment.name]!r}")
    seen.setdefault(experiment.name, alias.name)
    for j, variant in enumerate(experiment.variants):
        if variant.target is not None and variant.target.provider not in config.providers:
            errors.add((*at, "variants", j, "target", "provider"),
                       f"no provider named {variant.target.provider!r} under providers")
        if variant.prompt is not None:
            try:
                parse_ref(variant.prompt)
            except NotFound as exc:
                errors.add((*at, "variants", j, "prompt"), exc.message)
            if not config.prompts.dir:
                errors.add((*at, "variants", j, "prompt"), "names a prompt, but prompts.dir is not set")
        for key in variant.params:
            if key in RESERVED_PARAMS:  # the client's request and the arm's prompt decide these
                errors.add((*at, "variants", j, "params", key), f"an experiment arm cannot set {key!r}")


def file_errors(path: str) -> _Errors:
    """A collector naming the lines of the config file at `path`, for checks made after loading it."""
    try:
        node = yaml.compose(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        node = None
    return _Errors(path, _lines(node) if node is not None else {})


def load_config(path: str | os.PathLike, *, require_env: bool = True) -> LoadedConfig:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror}") from None
    config = parse_config(text, str(p), require_env=require_env)
    # relative paths are read from the config file's folder, whichever folder serves it
    if not Path(config.store.path).is_absolute():
        config.store.path = str(p.resolve().parent / config.store.path)
    if config.prompts.dir and not Path(config.prompts.dir).is_absolute():
        config.prompts.dir = str(p.resolve().parent / config.prompts.dir)
    return config
