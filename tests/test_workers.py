"""`serve --workers N`: several processes behind one port share the request log, every
request is answered and logged once under its own id, and SIGTERM flushes every worker."""

from __future__ import annotations

import json
import urllib.request

from tests.conftest import start_gateway


def test_two_workers_answer_and_log_every_request(tmp_path, openai_upstream):
    config = f"""
providers:
  up: {{kind: openai, base_url: "{openai_upstream.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
models:
  - {{name: chat, targets: [{{provider: up, model: gpt-4o-mini}}]}}
"""
    served = start_gateway(tmp_path, config, args=("--workers", "2"))
    ids = []
    try:
        for i in range(40):  # a new connection each time, so the kernel spreads them over the workers
            body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": f"hello {i}"}]}).encode()
            request = urllib.request.Request(served.base_url + "/chat/completions", body,
                                             {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as resp:
                assert resp.status == 200
                assert json.loads(resp.read())["choices"][0]["message"]["content"]
                ids.append(resp.headers["x-request-id"])
    finally:
        served.stop()
    assert len(set(ids)) == 40
    rows = served.rows()
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["status"] for r in rows} == {200}
