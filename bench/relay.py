"""The Python floor: a bare pass-through relay, the least a Python gateway can do.

    python -m bench.relay --port 9200 --upstream http://127.0.0.1:9100/v1

Raw ASGI on uvicorn (httptools, uvloop), orjson to read the stream flag, one pooled
aiohttp session; no auth, routing or logging. Streams are relayed as bytes arrive."""

import argparse

import aiohttp
import orjson
import uvicorn

UPSTREAM = "http://127.0.0.1:9100/v1"
_session: aiohttp.ClientSession | None = None


async def app(scope, receive, send):
    global _session
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
            await send({"type": "lifespan.startup.complete"})
        await _session.close()
        return await send({"type": "lifespan.shutdown.complete"})
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    if scope["method"] != "POST":  # readiness probe
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        return await send({"type": "http.response.body", "body": b"ok"})
    stream = orjson.loads(body).get("stream") is True
    async with _session.post(UPSTREAM + "/chat/completions", data=body,
                             headers={"content-type": "application/json"}) as resp:
        kind = resp.headers.get("content-type", "application/json").encode()
        await send({"type": "http.response.start", "status": resp.status, "headers": [(b"content-type", kind)]})
        if stream:
            async for data in resp.content.iter_any():
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": await resp.read()})


def main() -> None:
    global UPSTREAM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--upstream", default=UPSTREAM, help="the upstream's base URL, ending in /v1")
    args = parser.parse_args()
    UPSTREAM = args.upstream.rstrip("/")
    uvicorn.run(app, host="127.0.0.1", port=args.port, http="httptools", loop="uvloop", lifespan="on",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
