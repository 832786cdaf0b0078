"""Options every provider kind accepts, through `switchyard serve`: `api_key_env` (the key
read from the environment), extra `headers` on every request, `base_url`, and `local`
(false unless said, for the remote kinds)."""

from __future__ import annotations

import pytest
from openai import OpenAI

from switchyard.plugins import provider_classes
from tests.conftest import start_gateway

KEY_ENV = {"SY_TEST_OA_KEY": "upstream-key", "SY_TEST_AN_KEY": "sk-ant-from-env", "SY_TEST_GM_KEY": "gm-from-env"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, openai_upstream, anthropic_upstream, gemini_upstream):
    config = f"""
providers:
  oa: {{kind: openai, base_url: "{openai_upstream.url}/v1", api_key_env: SY_TEST_OA_KEY,
        headers: {{x-team: red, x-trace: oa}}}}
  an: {{kind: anthropic, base_url: "{anthropic_upstream.url}/v1", api_key_env: SY_TEST_AN_KEY,
        headers: {{x-team: red, x-trace: an}}}}
  gm: {{kind: gemini, base_url: "{gemini_upstream.url}/v1beta", api_key_env: SY_TEST_GM_KEY,
        headers: {{x-team: red, x-trace: gm}}}}
models:
  - {{name: oa, targets: [{{provider: oa, model: gpt-4o-mini}}]}}
  - {{name: an, targets: [{{provider: an, model: claude-haiku-4-5}}]}}
  - {{name: gm, targets: [{{provider: gm, model: gemini-2.0-flash}}]}}
"""
    gw = start_gateway(tmp_path_factory.mktemp("options"), config, env=KEY_ENV)
    yield gw
    gw.stop()


@pytest.mark.parametrize(("alias", "key_header", "key"), [
    ("oa", "authorization", "Bearer upstream-key"),
    ("an", "x-api-key", "sk-ant-from-env"),
    ("gm", "x-goog-api-key", "gm-from-env"),
])
def test_key_from_the_environment_and_extra_headers_reach_the_upstream(
        served, openai_upstream, anthropic_upstream, gemini_upstream, alias, key_header, key):
    upstream = {"oa": openai_upstream, "an": anthropic_upstream, "gm": gemini_upstream}[alias]
    client = OpenAI(base_url=served.base_url, api_key="unused", max_retries=0, timeout=20)
    for stream in (False, True):
        before = len(upstream.headers)
        answer = client.chat.completions.create(model=alias, messages=[{"role": "user", "content": "hi"}],
                                                stream=stream)
        if stream:
            assert "".join(c.choices[0].delta.content or "" for c in answer if c.choices).lower() == "echo: hi"
        else:
            assert answer.choices[0].message.content.lower() == "echo: hi"
        sent = {k.lower(): v for k, v in upstream.headers[before].items()}
        assert sent[key_header] == key
        assert (sent["x-team"], sent["x-trace"]) == ("red", alias)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_remote_kinds_are_not_local_unless_said(kind):
    config_class = provider_classes()[kind].config_class
    assert config_class(kind=kind).local is False
    assert config_class(kind=kind, local=True).local is True
