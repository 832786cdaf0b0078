"""Versioned prompt templates: files in the config's `prompts.dir`, one `<name>.yaml` per
prompt (see docs/prompts.md)."""

from .model import Prompt, PromptFileError, PromptVersion, load_prompt, parse_prompt
from .promote import promote
from .registry import PREFIX, PromptRegistry, parse_ref
from .render import RenderedPrompt, render

__all__ = ["PREFIX", "Prompt", "PromptFileError", "PromptRegistry", "PromptVersion", "RenderedPrompt",
           "load_prompt", "parse_prompt", "parse_ref", "promote", "render"]
