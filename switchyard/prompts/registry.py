"""The prompts of a folder, kept current while the gateway runs.

Every access checks, at most once per `check_interval` seconds, whether a `*.yaml`
file was added, changed (mtime, size or inode) or removed, and re-reads only those.
A file that becomes invalid keeps serving its last good contents (the problem is
logged and kept in `errors`) until it is fixed."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from ..errors import NotFound
from .model import Prompt, PromptFileError, PromptVersion, load_prompt

log = logging.getLogger("switchyard")

PREFIX = "prompt:"


def parse_ref(ref: str) -> tuple[str, int | None]:
    """'name', 'name@live' → (name, None); 'name@3' → (name, 3). A leading 'prompt:' is allowed."""
    text = ref.strip()
    text = text[len(PREFIX):] if text.startswith(PREFIX) else text
    name, sep, version = text.partition("@")
    if not name:
        raise NotFound(f"prompt reference {ref!r} names no prompt (expected NAME, NAME@VERSION or NAME@live)",
                       code="prompt_not_found")
    if not sep or version == "live":
        return name, None
    if version.isascii() and version.isdigit():
        return name, int(version)
    raise NotFound(f"prompt reference {ref!r}: the version must be a number or 'live', as in {name}@2",
                   code="prompt_not_found")


class PromptRegistry:
    def __init__(self, dir: str | os.PathLike, *, check_interval: float = 1.0, strict: bool = True):
        """Read every `*.yaml` in `dir`. With strict (the default) an invalid file raises
        PromptFileError listing every problem; otherwise it is skipped and kept in `errors`."""
        self.dir = Path(dir)
        self.check_interval = check_interval
        self.errors: dict[str, str] = {}  # file name → its problems, for files that did not load
        self._prompts: dict[str, Prompt] = {}
        self._seen: dict[str, tuple[int, int, int]] = {}  # file name → (mtime_ns, size, inode)
        self._lock = threading.Lock()
        if not self.dir.is_dir():
            raise PromptFileError(f"{self.dir}: prompts folder not found")
        self._scan(initial=True)  # no log lines here: strict raises, and callers read `errors`
        self._checked = time.monotonic()
        if strict and self.errors:
            raise PromptFileError("\n".join(self.errors[f] for f in sorted(self.errors)))

    # --- reading ------------------------------------------------------------------------------------

    def prompts(self) -> list[Prompt]:
        self._maybe_refresh()
        return [self._prompts[name] for name in sorted(self._prompts)]

    def get(self, name: str) -> Prompt:
        self._maybe_refresh()
        prompt = self._prompts.get(name)
        if prompt is None:
            if f"{name}.yaml" in self.errors:
                raise NotFound(f"prompt {name!r} is not available: its file has errors (see the gateway's log)",
                               code="prompt_not_found")
            raise NotFound(f"no prompt named {name!r}", code="prompt_not_found")
        return prompt

    def resolve(self, ref: str) -> PromptVersion:
        """`name`, `name@live` (the live version) or `name@3`. NotFound for an unknown prompt or version."""
        name, number = parse_ref(ref)
        prompt = self.get(name)
        if number is None:
            return prompt.live_version
        version = prompt.versions.get(number)
        if version is None:
            raise NotFound(f"prompt {name!r} has no version {number} "
                           f"(versions: {', '.join(map(str, sorted(prompt.versions)))}; live: {prompt.live})",
                           code="prompt_not_found")
        return version

    # --- keeping current ----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read changed files now. True when a prompt was added, changed or removed."""
        with self._lock:
            self._checked = time.monotonic()
            return self._scan()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._checked < self.check_interval:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.check_interval:  # another thread just did
                return
            self._checked = time.monotonic()
            self._scan()

    def _scan(self, initial: bool = False) -> bool:
        try:
            files = {}
            for entry in os.scandir(self.dir):
                if entry.name.endswith(".yaml") and not entry.name.startswith(".") and entry.is_file():
                    st = entry.stat()
                    files[entry.name] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError as exc:
            log.warning("prompts: cannot read the folder %s (%s); serving the prompts already loaded",
                        self.dir, exc.strerror)
            return False
        changed = False
        for fname in set(self._seen) - set(files):
            del self._seen[fname]
            self.errors.pop(fname, None)
            if self._prompts.pop(fname[:-len(".yaml")], None) is not None:
                log.info("prompts: %s removed", fname)
                changed = True
        for fname, signature in sorted(files.items()):
            if self._seen.get(fname) == signature:
                continue
            name = fname[:-len(".yaml")]
            try:
                prompt = load_prompt(self.dir / fname)
            except PromptFileError as exc:
                self._seen[fname] = signature
                self.errors[fname] = str(exc)
                if not initial:
                    kept = " (still serving its last good version)" if name in self._prompts else ""
                    log.warning("prompts: %s did not load%s:\n%s", fname, kept, exc)
                continue
            if fname in self._seen:
                log.info("prompts: %s reloaded (live version %d)", fname, prompt.live)
            self._seen[fname] = signature
            self.errors.pop(fname, None)
            self._prompts[name] = prompt
            changed = True
        return changed
