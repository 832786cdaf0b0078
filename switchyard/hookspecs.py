"""Extension points. Built-ins register through these exactly like third-party
plugins (packages exposing a `switchyard` entry point)."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("switchyard")
hookimpl = pluggy.HookimplMarker("switchyard")


@hookspec
def register_providers(register: Callable[[type], None]) -> None:
    """Register Provider subclasses; each is selected in config by its `kind`."""


@hookspec
def register_routers(register: Callable[[str, type], None]) -> None:
    """Register Router classes by the `strategy` name an alias uses."""


@hookspec
def register_checks(register: Callable[[type], None]) -> None:
    """Register Check subclasses; an alias's `checks:` selects them by `type`."""


@hookspec
def register_commands(cli) -> None:
    """Add click commands to the `switchyard` CLI group."""
