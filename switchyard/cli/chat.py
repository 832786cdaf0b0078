from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

import click

from .common import DEFAULT_CONFIG, config_option, load, server_url


def _stream_reply(url: str, key: str | None, model: str, messages: list[dict]) -> str:
    """POST a streaming chat request and print tokens as they come; returns the whole reply."""
    body = json.dumps({"model": model, "messages": messages, "stream": True}).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    reply = []
    try:
        request = urllib.request.Request(f"{url}/v1/chat/completions", body, headers)
        with urllib.request.urlopen(request, timeout=600) as resp:
            for raw in resp:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                event = json.loads(data)
                if "error" in event:
                    raise click.ClickException(event["error"].get("message", "stream failed"))
                for choice in event.get("choices", []):
                    text = (choice.get("delta") or {}).get("content") or ""
                    reply.append(text)
                    click.echo(text, nl=False)
                    sys.stdout.flush()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise click.ClickException(f"{exc.code}: {message}") from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc.reason} (is `switchyard serve` running?)") from None
    except ValueError as exc:  # not a URL at all, or not a gateway's event stream at that URL
        raise click.ClickException(f"{url}: {exc}") from None
    click.echo()
    return "".join(reply)


@click.command()
@click.argument("prompt", required=False)
@click.option("-m", "--model", default="chat", show_default=True, help="Model alias to ask.")
@click.option("-s", "--system", help="System prompt.")
@click.option("--url", help="Gateway URL (default: $SWITCHYARD_URL, else from the config, else :4000).")
@click.option("--key", envvar="SWITCHYARD_API_KEY", help="API key (default: $SWITCHYARD_API_KEY).")
@config_option
def chat(prompt, model, system, url, key, config_path) -> None:
    """Ask a running gateway: one-shot with PROMPT (or stdin), interactive without."""
    if url is None:
        config = load(config_path) if config_path or os.path.exists(DEFAULT_CONFIG) else None
        url = server_url(config)
    messages = [{"role": "system", "content": system}] if system else []
    if prompt is None and not sys.stdin.isatty():
        prompt = sys.stdin.read()
    if prompt is not None:
        _stream_reply(url, key, model, [*messages, {"role": "user", "content": prompt}])
        return
    click.echo(f"Chatting with {model} at {url}; Ctrl-D or 'exit' to leave.", err=True)
    while True:
        try:
            line = input("> ")
        except EOFError:
            click.echo()
            return
        if line.strip() in ("exit", "quit"):
            return
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        messages.append({"role": "assistant", "content": _stream_reply(url, key, model, messages)})
