"""Making another version live: only the value after `live:` changes in the file.

Comments, ordering, quoting and line endings stay as they were, so the change
reviews as a one-line diff. The file is replaced atomically, and a running
gateway's registry picks it up on its next check (within about a second)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import yaml

from ..errors import NotFound
from .model import NAME, PromptFileError, parse_prompt


def promote(dir: str | os.PathLike, name: str, version: int | str) -> tuple[int, int]:
    """Set `live:` of `<dir>/<name>.yaml` to `version`; returns (previous live, new live).

    NotFound for an unknown prompt or version; PromptFileError when the file is invalid
    (a broken file is not rewritten)."""
    if not NAME.match(name):  # a name, not a path: nothing outside the folder is touched
        raise NotFound(f"no prompt named {name!r}", code="prompt_not_found")
    path = Path(dir) / f"{name}.yaml"
    if isinstance(version, str):
        if not (version.isascii() and version.isdigit()):
            raise NotFound(f"prompt {name!r}: {version!r} is not a version number", code="prompt_not_found")
        version = int(version)
    try:
        with open(path, encoding="utf-8", newline="") as f:  # newline="": keep \r\n as it is
            text = f.read()
    except FileNotFoundError:
        raise NotFound(f"no prompt named {name!r} in {dir}", code="prompt_not_found") from None
    except OSError as exc:
        raise PromptFileError(f"{path}: cannot read prompt file: {exc.strerror}") from None
    prompt = parse_prompt(text, str(path), name=name)
    if version not in prompt.versions:
        raise NotFound(f"prompt {name!r} has no version {version} "
                       f"(versions: {', '.join(map(str, sorted(prompt.versions)))})", code="prompt_not_found")
    previous = prompt.live
    if previous == version:
        return previous, version

    try:
        node = _live_value(yaml.compose(text))
    except PromptFileError as exc:
        raise PromptFileError(f"{path}: {exc}") from None
    new_text = text[:node.start_mark.index] + str(version) + text[node.end_mark.index:]
    if parse_prompt(new_text, str(path), name=name).live != version:  # the edit must say what we meant
        raise PromptFileError(f"{path}:{node.start_mark.line + 1}: live: could not rewrite the value in place")
    _replace(Path(os.path.realpath(path)), new_text)  # through a symlink, not over it
    return previous, version


def _live_value(root: yaml.Node) -> yaml.ScalarNode:
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "live":
            # a YAML alias (`live: *x`) is the anchored node, elsewhere in the file: not ours to rewrite
            if isinstance(value, yaml.ScalarNode) and value.start_mark.index > key.end_mark.index:
                return value
            break
    raise PromptFileError("live: write the version number itself to promote this file")


def _replace(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
