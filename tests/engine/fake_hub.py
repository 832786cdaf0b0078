"""A fake Hugging Face hub on 127.0.0.1: `/{owner}/{name}/resolve/main/{file}` with
Range requests, `X-Linked-Etag` (sha256) for LFS files and `ETag` otherwise.

    hub = FakeHub()
    hub.add("me/repo/model.gguf", data)                  # LFS: X-Linked-Etag + X-Linked-Size
    hub.add("me/repo/small.json", data, mode="etag")     # ETag = sha256
    hub.add("me/repo/README.md", data, mode="git")       # ETag = git blob sha1
    hub.add("me/repo/bad.gguf", data, wrong_hash=True)   # advertises a wrong sha256
    hub.add("me/repo/big.gguf", data, redirect=True)     # 302 to /cdn/... (X-Linked-* on the 302)
    hub.add("me/repo/flaky.gguf", data, drop_once=True)  # first full GET drops halfway
    with FakeServer(hub.app()) as server: ...

Every request is recorded in hub.seen as (path, Range header, Authorization header).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web


@dataclass
class HubFile:
    data: bytes
    mode: str = "lfs"
    wrong_hash: bool = False
    redirect: bool = False
    drop_once: bool = False

    @property
    def advertised_sha256(self) -> str:
        return "0" * 64 if self.wrong_hash else hashlib.sha256(self.data).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.files: dict[str, HubFile] = {}
        self.seen: list[tuple[str, str | None, str | None]] = []

    def add(self, repo_file: str, data: bytes, **options) -> None:
        self.files[repo_file] = HubFile(data, **options)

    @property
    def ranges(self) -> list[str | None]:
        return [r for _, r, _ in self.seen]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cdn/{key:.+}", self.cdn)
        app.router.add_get("/{owner}/{name}/resolve/main/{file:.+}", self.resolve)
        return app

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        key = f"{request.match_info['owner']}/{request.match_info['name']}/{request.match_info['file']}"
        f = self.files.get(key)
        if f is None:
            return web.Response(status=404, text="Entry not found")
        headers = {}
        if f.mode == "lfs":
            headers = {"X-Linked-Etag": f'"{f.advertised_sha256}"', "X-Linked-Size": str(len(f.data)),
                       "ETag": '"d41d8cd98f00b204e9800998ecf8427e"'}  # an md5-looking ETag, to be ignored
        elif f.mode == "etag":
            headers = {"ETag": f'"{f.advertised_sha256}"'}
        elif f.mode == "git":
            git = hashlib.sha1(b"blob %d\0" % len(f.data) + f.data).hexdigest()
            headers = {"ETag": f'"{"0" * 40 if f.wrong_hash else git}"'}
        if f.redirect:
            raise web.HTTPFound(f"/cdn/{key}", headers=headers)
        return await self._serve(request, f, headers)

    async def cdn(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        f = self.files.get(request.match_info["key"])
        if f is None:
            return web.Response(status=404)
        return await self._serve(request, f, {"ETag": '"cdn-etag-not-a-hash"'})

    def _record(self, request: web.Request) -> None:
        self.seen.append((request.path, request.headers.get("Range"), request.headers.get("Authorization")))

    async def _serve(self, request: web.Request, f: HubFile, headers: dict[str, str]) -> web.StreamResponse:
        data, start = f.data, 0
        range_header = request.headers.get("Range")
        if range_header:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"})
            headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        response = web.StreamResponse(status=206 if range_header else 200, headers=headers)
        response.content_length = len(data) - start
        await response.prepare(request)
        body = data[start:]
        if f.drop_once and not range_header:
            f.drop_once = False
            await response.write(body[: len(body) // 2])
            request.transport.abort()
            return response
        await response.write(body)
        await response.write_eof()
        return response
