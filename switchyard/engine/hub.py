"""Download a GGUF file from the Hugging Face hub (or a mirror with the same URL layout).

    pull("bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf", models_dir)

fetches `{endpoint}/{owner}/{name}/resolve/main/{filename}` where endpoint is the
argument, else $HF_ENDPOINT, else https://huggingface.co; a token (argument or
$HF_TOKEN) is sent as `Authorization: Bearer` to the hub only, never to the CDN the
hub redirects large files to.

The file is streamed to `<dest>/<filename>.part`; if that exists, the download
resumes with `Range: bytes=<size>-`. The expected sha256 comes from the hub's
`X-Linked-Etag` header (LFS files; the hub sends it on its redirect to the CDN),
else from `ETag` when that is a sha256 (a 40-hex ETag is the git blob sha1 of a
small non-LFS file and is checked as such). On a mismatch the .part is deleted and
HubError is raised; the file is renamed into place only once verified. No checksum
from the server → the file is kept, with a warning.

Only the standard library is used (urllib), so this also works from plain scripts.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import TextIO

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 30.0
_BLOCK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


class HubError(RuntimeError):
    """A download that failed; the message is one readable line."""


class HubUnreachable(HubError):
    """The hub could not be reached at all (offline, DNS, refused, timed out)."""


@dataclass
class _Expected:
    sha256: str | None = None
    git_sha1: str | None = None
    size: int | None = None


def parse_repo_file(repo_file: str) -> tuple[str, str, str]:
    """'owner/name/path/to/file.gguf' → (owner, name, 'path/to/file.gguf')."""
    parts = [p for p in repo_file.strip().strip("/").split("/") if p]
    if len(parts) < 3 or any(p in (".", "..") for p in parts):
        raise HubError(f"{repo_file!r} is not OWNER/REPO/FILE, e.g. "
                       "bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf")
    return parts[0], parts[1], "/".join(parts[2:])


def file_url(repo_file: str, endpoint: str | None = None) -> str:
    owner, name, filename = parse_repo_file(repo_file)
    base = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    return f"{base}/{owner}/{name}/resolve/main/{urllib.parse.quote(filename)}"


def pull(repo_file: str, dest_dir: str | os.PathLike, *, endpoint: str | None = None, token: str | None = None,
         progress: bool = True, stream: TextIO | None = None) -> Path:
    """Download OWNER/REPO/FILE into dest_dir and return its path (see the module doc).
    An existing complete file is returned as is."""
    _, _, filename = parse_repo_file(repo_file)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    dest_dir = Path(dest_dir).expanduser()
    target = dest_dir / Path(filename).name
    part = target.with_name(target.name + ".part")
    out = stream or sys.stderr
    if target.exists():
        if progress:
            print(f"{target} already exists", file=out)
        return target
    url = file_url(repo_file, endpoint)
    offset = part.stat().st_size if part.exists() else 0
    response, expected = _open(url, offset, token, endpoint, repo_file, dest_dir)
    with response:
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HubError(f"cannot create the models dir {dest_dir}: {exc.strerror or exc}") from None
        if offset and response.status == 206:
            start = _range_start(response.headers.get("Content-Range"))
            if start != offset:
                response.close()
                raise HubError(f"{repo_file}: the server answered the resume request with the wrong range "
                               f"({response.headers.get('Content-Range')!r}); delete {part} and try again")
        elif offset and response.status == 416:  # nothing left to fetch: the .part is complete (or bigger)
            pass
        else:
            offset = 0  # a 200: the server sent the whole file
        if expected.size is None:
            expected.size = _total_size(response, offset)
        if expected.size is not None and offset > expected.size:
            response.close()
            part.unlink(missing_ok=True)
            return pull(repo_file, dest_dir, endpoint=endpoint, token=token, progress=progress, stream=stream)

        sha = hashlib.sha256()
        if offset:
            _hash_file(part, sha)
        bar = _Progress(filename, expected.size, offset, out) if progress else None
        try:
            with open(part, "ab" if offset else "wb") as f:
                if response.status != 416:
                    done = offset
                    while True:
                        block = response.read(_BLOCK)
                        if not block:
                            break
                        f.write(block)
                        sha.update(block)
                        done += len(block)
                        if bar:
                            bar.update(done)
        except KeyboardInterrupt:
            if bar:
                bar.finish()
            raise  # the .part stays for the next run to resume
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            if bar:
                bar.finish()
            if not isinstance(exc, OSError) or isinstance(exc, (ConnectionError, TimeoutError)):
                have = part.stat().st_size if part.exists() else 0
                raise HubError(f"{repo_file}: download interrupted after {have} bytes ({_reason(exc)}); "
                               "run the same command again to resume") from None
            raise HubError(f"cannot write {part}: {exc.strerror or exc}") from None
        if bar:
            bar.finish()

    _verify(part, sha, expected, repo_file, out if progress else None)
    os.replace(part, target)
    return target


def _open(url: str, offset: int, token: str | None, endpoint: str, repo_file: str, dest_dir: Path):
    """GET url (from `offset`), following redirects; the expected hash and size come from
    the hub's own responses (X-Linked-* on its redirect to the CDN, or its ETag)."""
    hops: list[tuple[str, Message]] = []  # (url requested, response headers) for each hop

    class Recorder(urllib.request.HTTPRedirectHandler):
        def http_error_302(self, req, fp, code, msg, headers):
            hops.append((req.full_url, headers))
            return super().http_error_302(req, fp, code, msg, headers)

        http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    opener = urllib.request.build_opener(Recorder)
    request = urllib.request.Request(url, headers={"User-Agent": "switchyard", "Accept-Encoding": "identity"})
    if token:
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = opener.open(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not offset:
            raise _http_error(exc, repo_file) from None
        response = exc  # 416 on a resume: the .part already holds everything
    except (urllib.error.URLError, OSError) as exc:
        raise HubUnreachable(
            f"could not reach the model hub at {endpoint} ({_reason(exc)}). Without the hub, copy a .gguf file "
            f"into {dest_dir}, or start the engine on a file with `switchyard serve --model PATH`"
        ) from None
    hops.append((response.geturl(), response.headers))
    return response, _expected(hops, urllib.parse.urlsplit(endpoint).netloc)


def _expected(hops: list[tuple[str, Message]], hub_host: str) -> _Expected:
    exp = _Expected()
    for _, headers in hops:
        linked = _clean_etag(headers.get("X-Linked-Etag"))
        if linked and _HEX64.match(linked):
            exp.sha256 = linked
            size = headers.get("X-Linked-Size")
            if size and size.isdigit():
                exp.size = int(size)
            return exp
    # No X-Linked-Etag: the ETag of the hub's own last answer (a CDN's ETag may be an md5).
    own = [headers for url, headers in hops if urllib.parse.urlsplit(url).netloc == hub_host]
    etag = _clean_etag(own[-1].get("ETag")) if own else None
    if etag and _HEX64.match(etag):
        exp.sha256 = etag
    elif etag and _HEX40.match(etag):
        exp.git_sha1 = etag
    return exp


def _clean_etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower()


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", content_range or "")
    return int(m.group(1)) if m else None


def _total_size(response, offset: int) -> int | None:
    m = re.match(r"bytes (?:\d+-\d+|\*)/(\d+)", response.headers.get("Content-Range") or "")
    if m:
        return int(m.group(1))
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and response.status == 200:
        return int(length)
    return None


def _hash_file(path: Path, sha) -> None:
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            sha.update(block)


def _verify(part: Path, sha, expected: _Expected, repo_file: str, out: TextIO | None) -> None:
    size = part.stat().st_size
    if expected.size is not None and size < expected.size:
        raise HubError(f"{repo_file}: download interrupted after {size} of {expected.size} bytes; "
                       "run the same command again to resume")
    if expected.size is not None and size > expected.size:
        part.unlink(missing_ok=True)
        raise HubError(f"{repo_file}: downloaded {size} bytes, the hub announced {expected.size}; "
                       "the download was deleted, try again")
    if expected.sha256:
        got = sha.hexdigest()
        if got != expected.sha256:
            part.unlink(missing_ok=True)
            raise HubError(f"{repo_file}: sha256 mismatch (expected {expected.sha256}, got {got}); "
                           "the download was deleted")
    elif expected.git_sha1:
        git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
        _hash_file(part, git)
        if git.hexdigest() != expected.git_sha1:
            part.unlink(missing_ok=True)
            raise HubError(f"{repo_file}: checksum mismatch (expected git blob {expected.git_sha1}, "
                           f"got {git.hexdigest()}); the download was deleted")
    elif out is not None:
        print(f"warning: the server sent no checksum for {repo_file}; the file was not verified", file=out)


def _http_error(exc: urllib.error.HTTPError, repo_file: str) -> HubError:
    if exc.code in (401, 403):
        return HubError(f"{repo_file}: access denied by the hub (HTTP {exc.code}): the repo may be gated or "
                        "private; accept its terms on the hub and set HF_TOKEN")
    if exc.code == 404:
        return HubError(f"{repo_file}: not found on the hub (HTTP 404): check the owner, repo and file name")
    return HubError(f"{repo_file}: the hub answered HTTP {exc.code} {exc.reason}")


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, socket.gaierror):
        return "host name not resolved"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    text = getattr(reason, "strerror", None) or str(reason)
    return text or type(reason).__name__


class _Progress:
    """`name  45.1%  123.4/273.6 MB  12.3 MB/s  ETA 0:12` on stderr: redrawn with \\r on a
    terminal at most 10 times a second, else one line per 10%."""

    def __init__(self, name: str, total: int | None, start: int, out: TextIO):
        self.name, self.total, self.start, self.out = name, total, start, out
        self.t0 = self.last = time.monotonic()
        self.done = start
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.next_step = 0
        if start:
            print(f"resuming {name} at {start / 1e6:.1f} MB", file=out)

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.tty:
            if now - self.last >= 0.1:
                self.last = now
                self.out.write("\r" + self.line(now))
                self.out.flush()
        elif self.total:
            step = int(done * 10 / self.total)
            if step > self.next_step:
                self.next_step = step
                print(self.line(now), file=self.out)

    def line(self, now: float) -> str:
        rate = (self.done - self.start) / max(now - self.t0, 1e-6)
        mb = f"{self.done / 1e6:.1f}"
        if self.total:
            pct = self.done * 100 / self.total
            eta = (self.total - self.done) / rate if rate > 0 else 0
            return (f"{self.name}  {pct:5.1f}%  {mb}/{self.total / 1e6:.1f} MB  {rate / 1e6:.1f} MB/s  "
                    f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
        return f"{self.name}  {mb} MB  {rate / 1e6:.1f} MB/s"

    def finish(self) -> None:
        now = time.monotonic()
        if self.tty:
            self.out.write("\r" + self.line(now) + "\n")
        else:
            print(self.line(now), file=self.out)
        self.out.flush()
