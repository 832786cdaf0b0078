"""Plugin manager: loads the built-in plugins and any installed `switchyard`
entry points, and collects what they register."""

from __future__ import annotations

import importlib
from functools import cache

import pluggy

from . import hookspecs

BUILTIN_PLUGINS = (
    "switchyard.providers.openai",
    "switchyard.providers.anthropic",
    "switchyard.providers.gemini",
    "switchyard.providers.llamacpp",
    "switchyard.providers.local_embeddings",
    "switchyard.routing.builtin",
    "switchyard.checks.builtin",
)


@cache
def plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("switchyard")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name)
    pm.load_setuptools_entrypoints("switchyard")
    return pm


@cache
def provider_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    plugin_manager().hook.register_providers(register=lambda cls: found.setdefault(cls.kind, cls))
    return found


@cache
def router_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    plugin_manager().hook.register_routers(register=lambda name, cls: found.setdefault(name, cls))
    return found


@cache
def check_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    plugin_manager().hook.register_checks(register=lambda cls: found.setdefault(cls.type, cls))
    return found
