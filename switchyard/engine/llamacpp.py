"""llama.cpp in-process, through the `xllamacpp` binding: its server core with
slots and continuous batching, chat templates from the GGUF metadata, and
grammar-constrained sampling for response_format."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .base import OnChunk
from .gguf import read_gguf_info

log = logging.getLogger("switchyard")

# For models whose GGUF has no chat template (base models such as stories260K):
# the messages' text in order, one per line, so the model continues the text.
PLAIN_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}"
    "{% if not loop.last %}\n{% endif %}{% endfor %}"
)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    n_ctx: int = 4096  # total context, shared by the slots
    slots: int = 4  # sequences decoded together (continuous batching)
    threads: int = 0  # 0: one per core
    chat_template: str | None = None  # a Jinja template overriding the GGUF's


class LlamaCppEngine:
    def __init__(self, path: str | Path, name: str, settings: EngineSettings):
        import xllamacpp

        path = Path(path)
        template = settings.chat_template or read_gguf_info(path).chat_template
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = [name]  # answers name the alias, not the file path
        params.n_ctx = settings.n_ctx
        params.n_parallel = settings.slots
        params.cont_batching = True
        params.use_jinja = True
        if settings.threads > 0:
            params.cpuparams.n_threads = settings.threads
            params.cpuparams_batch.n_threads = settings.threads
        if template is None:
            log.info("%s has no chat template: using the plain-text fallback", path.name)
            params.chat_template = PLAIN_TEMPLATE
        elif settings.chat_template:
            params.chat_template = settings.chat_template
        params.verbosity = -1
        self.path = path
        self.server = xllamacpp.Server(params)

    def chat(self, body: bytes, on_chunk: OnChunk) -> None:
        self.server.handle_chat_completions(body, on_chunk)

    def close(self) -> None:
        # the binding stops its loop thread when the server object is released
        self.server = None
