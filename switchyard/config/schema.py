"""The config file's shape: one pydantic model per top-level section.

Unknown keys are errors. Provider entries are checked in a second step by the
config class of their `kind`, since provider kinds come from plugins."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..providers.base import ProviderConfig

LogPolicy = Literal["none", "metadata", "redacted", "full"]
PrivacyAction = Literal["allow", "redact", "route_local", "block"]
Sensitivity = Literal["normal", "confidential"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(4000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0)


class Target(Strict):
    provider: str
    model: str
    weight: float = Field(1.0, ge=0)

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"


class Variant(Strict):
    """One arm of an experiment: a target, a prompt version, and/or request parameters."""

    name: str = Field(min_length=1)
    weight: float = Field(gt=0)
    target: Target | None = None  # serve this arm from this target instead of the alias's
    prompt: str | None = None  # "name@version": render this prompt version for this arm
    params: dict[str, Any] = {}  # request fields set for this arm (temperature, max_tokens, ...)


class Experiment(Strict):
    name: str = Field(min_length=1)
    variants: list[Variant] = Field(min_length=2)
    sticky: Literal["user", "session"] = "user"  # what keeps a caller on one arm


class Alias(Strict):
    name: str = Field(min_length=1)
    strategy: str = "fallback"
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(1, ge=0, le=10)
    targets: list[Target] = Field(min_length=1)
    logging: LogPolicy | None = None  # overrides logging.policy for this alias
    privacy: PrivacyAction = "allow"  # what to do when a request carries personal or secret data
    checks: list[dict[str, Any]] = []  # cascade: checks each answer must pass, or the next target is asked
    experiment: Experiment | None = None


class Price(Strict):
    input: float = Field(ge=0)  # USD per 1M prompt tokens
    output: float = Field(ge=0)  # USD per 1M completion tokens


class KeyConfig(Strict):
    name: str = Field(min_length=1)
    key_env: str  # environment variable holding the key's value; keys are never written in the file
    models: list[str] = ["*"]  # aliases this key may use; "*" means all
    team: str | None = None
    rpm: int | None = Field(None, gt=0)  # requests per minute, per gateway process
    privacy: PrivacyAction | None = None  # overrides the team's and the alias's
    sensitivity: Sensitivity | None = None  # confidential: every request stays on local targets
    logging: LogPolicy | None = None


class TeamConfig(Strict):
    privacy: PrivacyAction | None = None  # overrides the alias's
    sensitivity: Sensitivity | None = None
    logging: LogPolicy | None = None


class LoggingConfig(Strict):
    policy: LogPolicy = "metadata"
    encryption_key_env: str | None = None  # base64 of 32 bytes: stored bodies are sealed with AES-256-GCM


class CustomPattern(Strict):
    kind: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    regex: str


class DenyList(Strict):
    kind: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    words: list[str] = Field(min_length=1)
    case_sensitive: bool = False


class PrivacyConfig(Strict):
    detect: list[str] | None = None  # kinds to look for; default: every built-in kind and the custom ones
    patterns: list[CustomPattern] = []
    deny_lists: list[DenyList] = []
    session_ttl_s: float = Field(86400.0, gt=0)  # how long a conversation found sensitive stays pinned local


class PromptsConfig(Strict):
    dir: str | None = None  # folder of prompt files; a relative path is taken from the config file's folder


class StoreConfig(Strict):
    kind: Literal["sqlite"] = "sqlite"
    path: str = "switchyard.db"


class AdminConfig(Strict):
    key_env: str | None = None  # environment variable holding the admin key


class Config(Strict):
    server: ServerConfig = ServerConfig()
    providers: dict[str, dict[str, Any]] = {}
    models: list[Alias] = []
    prices: dict[str, Price] = {}
    keys: list[KeyConfig] = []
    teams: dict[str, TeamConfig] = {}
    logging: LoggingConfig = LoggingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    prompts: PromptsConfig = PromptsConfig()
    store: StoreConfig = StoreConfig()
    admin: AdminConfig = AdminConfig()


class LoadedConfig(BaseModel):
    """The validated config: providers parsed by their own config classes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str
    server: ServerConfig
    providers: dict[str, ProviderConfig]
    models: dict[str, Alias]
    prices: dict[str, Price]
    keys: list[KeyConfig]
    teams: dict[str, TeamConfig]
    logging: LoggingConfig
    privacy: PrivacyConfig
    prompts: PromptsConfig
    store: StoreConfig
    admin: AdminConfig
