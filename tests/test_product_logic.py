"""Structured outputs, cascades and prompts through `switchyard serve`, with the real
openai client, in front of the fake OpenAI upstream whose models play the roles:
json-ok, json-bad-then-ok (repairable), json-never, refuser, judge-pass/judge-fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import openai
import pytest
from openai import OpenAI

from switchyard.config.schema import Experiment, Variant
from switchyard.experiments import assign
from tests.conftest import start_gateway

SCHEMA = {"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"],
          "additionalProperties": False}
FORMAT = {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True}}
ASK = [{"role": "user", "content": "What is our refund policy?"}]

PROMPT_FILE = """name: support-reply
description: Answer a support ticket
live: 2
versions:
  1:
    model: plain
    variables: [customer, issue]
    messages:
      - {role: system, content: "You are ACME support."}
      - {role: user, content: "Customer {{ customer }} writes: {{ issue }}"}
  2:
    model: plain
    variables: [customer, issue]
    params: {temperature: 0.1}
    messages:
      - {role: system, content: "You are ACME support. Be brief."}
      - {role: user, content: "{{ customer }}: {{ issue }}"}
"""

# served by `ab`, an alias whose experiment swaps the prompt version in one arm
AB_PROMPT_FILE = """name: ab-reply
live: 1
versions:
  1:
    model: ab
    variables: [issue]
    params: {max_tokens: 50}
    messages:
      - {role: system, content: "Long answers."}
      - {role: user, content: "Issue: {{ issue }}"}
  2:
    model: ab
    variables: [issue]
    params: {temperature: 0.1}
    messages:
      - {role: system, content: "Short answers."}
      - {role: user, content: "{{ issue }}"}
"""
# promoted while the gateway runs; its JSON version is served by a model that needs a repair
PROMO_FILE = """name: promo
live: 1
versions:
  1:
    model: plain
    messages: [{role: user, content: "version one"}]
  2:
    model: repairable
    output_schema: {type: object, properties: {reply: {type: string}}, required: [reply]}
    messages: [{role: user, content: "version two"}]
"""
AB_TEST = Experiment(name="ab-test", variants=[
    Variant(name="control", weight=1), Variant(name="short", weight=1, prompt="ab-reply@2"),
    Variant(name="warm", weight=1, params={"temperature": 0.7})])


@pytest.fixture(scope="module")
def served(openai_upstream, tmp_path_factory):
    folder = tmp_path_factory.mktemp("product")
    (folder / "prompts").mkdir()
    (folder / "prompts" / "support-reply.yaml").write_text(PROMPT_FILE)
    (folder / "prompts" / "ab-reply.yaml").write_text(AB_PROMPT_FILE)
    (folder / "prompts" / "promo.yaml").write_text(PROMO_FILE)
    config = f"""
providers:
  up: {{kind: openai, base_url: "{openai_upstream.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
models:
  - {{name: plain, targets: [{{provider: up, model: gpt-4o-mini}}]}}
  - {{name: repairable, targets: [{{provider: up, model: json-bad-then-ok}}]}}
  - {{name: stubborn, targets: [{{provider: up, model: json-never}}]}}
  - {{name: stubborn-then-ok, targets: [{{provider: up, model: json-never}}, {{provider: up, model: json-ok}}]}}
  - name: smart
    strategy: cascade
    checks: [{{type: refusal}}, {{type: length, min_chars: 5}}]
    targets: [{{provider: up, model: cheap-model}}, {{provider: up, model: strong-model}}]
  - name: smart-refuses
    strategy: cascade
    checks: [{{type: refusal}}]
    targets: [{{provider: up, model: refuser}}, {{provider: up, model: strong-model}}]
  - name: judged
    strategy: cascade
    checks: [{{type: judge, model: strict-judge}}]
    targets: [{{provider: up, model: cheap-model}}, {{provider: up, model: strong-model}}]
  - name: judged-ok
    strategy: cascade
    checks: [{{type: judge, model: kind-judge}}]
    targets: [{{provider: up, model: cheap-model}}, {{provider: up, model: strong-model}}]
  - {{name: strict-judge, targets: [{{provider: up, model: judge-fail}}]}}
  - {{name: kind-judge, targets: [{{provider: up, model: judge-pass}}]}}
  - name: json-cascade
    strategy: cascade
    targets: [{{provider: up, model: json-never}}, {{provider: up, model: json-ok}}]
  - name: ab
    targets: [{{provider: up, model: gpt-4o-mini}}]
    experiment: {AB_TEST.model_dump_json(exclude_defaults=True)}
prices:
  up/cheap-model: {{input: 1.0, output: 1.0}}
  up/refuser: {{input: 1.0, output: 1.0}}
  up/strong-model: {{input: 10.0, output: 30.0}}
  up/judge-fail: {{input: 0.5, output: 0.5}}
prompts: {{dir: prompts}}
"""
    served = start_gateway(folder, config)
    yield served
    served.stop()


def client(served, **headers) -> OpenAI:
    return OpenAI(base_url=served.base_url, api_key="unused", max_retries=0, default_headers=headers or None)


def row(served, request_id: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for found in served.rows():
            if found["id"] == request_id:
                found["attempts"] = json.loads(found["attempts"] or "[]")
                return found
        time.sleep(0.05)
    raise AssertionError(f"no log row for {request_id}")


def test_valid_native_output_passes_untouched(served):
    raw = client(served).chat.completions.with_raw_response.create(model="plain", messages=ASK,
                                                                   response_format=FORMAT)
    assert json.loads(raw.parse().choices[0].message.content)["reply"]
    assert raw.headers["x-switchyard-structured"] == "native"


def test_invalid_json_is_repaired_once(served, openai_upstream):
    before = len(openai_upstream.requests)
    raw = client(served).chat.completions.with_raw_response.create(model="repairable", messages=ASK,
                                                                   response_format=FORMAT)
    assert json.loads(raw.parse().choices[0].message.content) == {"reply": ASK[0]["content"]}
    assert raw.headers["x-switchyard-structured"] == "repaired"
    repair = openai_upstream.requests[before + 1]["messages"]
    assert len(openai_upstream.requests) == before + 2
    assert repair[-2]["role"] == "assistant" and repair[-1]["content"].startswith("Your answer was not valid")
    logged = row(served, raw.headers["x-request-id"])
    assert logged["structured"] == "repaired" and logged["status"] == 200


def test_backend_that_never_complies_is_a_clear_error(served):
    with pytest.raises(openai.APIStatusError) as err:
        client(served).chat.completions.create(model="stubborn", messages=ASK, response_format=FORMAT)
    assert err.value.status_code == 502
    assert "invalid structured output" in err.value.response.json()["error"]["message"]


def test_backend_that_never_complies_falls_through_to_the_next_target(served):
    raw = client(served).chat.completions.with_raw_response.create(model="stubborn-then-ok", messages=ASK,
                                                                   response_format=FORMAT)
    assert raw.headers["x-switchyard-target"] == "up/json-ok"
    assert json.loads(raw.parse().choices[0].message.content)["reply"]
    logged = row(served, raw.headers["x-request-id"])
    assert [a["target"] for a in logged["attempts"]] == ["up/json-never", "up/json-ok"]
    assert "invalid structured output" in logged["attempts"][0]["error"]


def test_streaming_client_gets_only_validated_json(served):
    stream = client(served).chat.completions.create(model="repairable", messages=ASK, response_format=FORMAT,
                                                    stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text) == {"reply": ASK[0]["content"]}
    assert chunks[-1].usage is not None


def test_tool_arguments_are_validated(served):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"zip": {"type": "string"}}, "required": ["zip"]}}}
    with pytest.raises(openai.APIStatusError) as err:  # the fake calls it with {"city": ...}: no zip
        client(served).chat.completions.create(
            model="stubborn", messages=[{"role": "user", "content": "weather please"}], tools=[tool])
    assert "arguments of tool 'get_weather'" in err.value.response.json()["error"]["message"]


@pytest.mark.parametrize(("extra", "where"), [
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "nonsense"}}}},
     "response_format.json_schema.schema: not a valid JSON Schema at type"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": "an object"}}},
     "response_format.json_schema.schema: not a JSON Schema"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": {"a": {"type": 5}}}}}]},
     "tools[0].function.parameters: not a valid JSON Schema at properties/a/type"),
])
@pytest.mark.parametrize("model", ["plain", "smart"])
def test_an_invalid_schema_is_the_clients_error_before_any_target_is_asked(served, openai_upstream, model, extra,
                                                                           where):
    before = len(openai_upstream.requests)
    with pytest.raises(openai.BadRequestError) as err:
        client(served).chat.completions.create(model=model, messages=ASK, **extra)
    assert where in err.value.response.json()["error"]["message"]
    assert len(openai_upstream.requests) == before  # nobody paid for an answer that could never be valid
    assert row(served, err.value.response.headers["x-request-id"])["status"] == 400


def test_cascade_escalates_when_a_check_fails(served):
    raw = client(served).chat.completions.with_raw_response.create(model="smart-refuses", messages=ASK)
    assert raw.headers["x-switchyard-target"] == "up/strong-model"
    assert raw.parse().choices[0].message.content == f"echo: {ASK[0]['content']}"
    logged = row(served, raw.headers["x-request-id"])
    steps = logged["attempts"]
    assert [s["target"] for s in steps] == ["up/refuser", "up/strong-model"]
    assert "check refusal failed" in steps[0]["error"] and steps[1]["error"] is None
    assert steps[0]["cost_usd"] > 0 and steps[1]["cost_usd"] > steps[0]["cost_usd"]
    assert logged["cost_usd"] == pytest.approx(steps[0]["cost_usd"] + steps[1]["cost_usd"])


def test_cascade_stops_at_the_cheap_target_when_it_passes(served, openai_upstream):
    before = len(openai_upstream.requests)
    raw = client(served).chat.completions.with_raw_response.create(model="smart", messages=ASK)
    assert raw.headers["x-switchyard-target"] == "up/cheap-model"
    assert [r["model"] for r in openai_upstream.requests[before:]] == ["cheap-model"]  # the strong one never asked
    logged = row(served, raw.headers["x-request-id"])
    assert [s["target"] for s in logged["attempts"]] == ["up/cheap-model"]
    assert logged["cost_usd"] == pytest.approx(logged["attempts"][0]["cost_usd"]) and logged["cost_usd"] > 0


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_client_can_force_escalation(served, openai_upstream, value):
    before = len(openai_upstream.requests)
    raw = client(served, **{"x-switchyard-escalate": value}).chat.completions.with_raw_response.create(
        model="smart", messages=ASK)
    assert raw.headers["x-switchyard-target"] == "up/strong-model"
    assert [r["model"] for r in openai_upstream.requests[before:]] == ["strong-model"]  # the cheap step skipped
    steps = row(served, raw.headers["x-request-id"])["attempts"]
    assert [(s["target"], s["error"]) for s in steps] == [
        ("up/cheap-model", "skipped: x-switchyard-escalate"), ("up/strong-model", None)]  # the log says why


def test_cascade_escalates_on_invalid_schema_without_repairing(served, openai_upstream):
    before = len(openai_upstream.requests)
    raw = client(served).chat.completions.with_raw_response.create(model="json-cascade", messages=ASK,
                                                                   response_format=FORMAT)
    assert raw.headers["x-switchyard-target"] == "up/json-ok"
    assert len(openai_upstream.requests) == before + 2  # one try each: a cascade escalates instead of re-asking


def test_judge_that_passes_keeps_the_cheap_answer(served):
    raw = client(served).chat.completions.with_raw_response.create(model="judged-ok", messages=ASK)
    assert raw.headers["x-switchyard-target"] == "up/cheap-model"
    steps = row(served, raw.headers["x-request-id"])["attempts"]
    assert [s["target"] for s in steps] == ["check:up/judge-pass", "up/cheap-model"]


def test_judge_that_fails_every_answer_escalates_then_refuses(served):
    with pytest.raises(openai.APIStatusError) as err:
        client(served).chat.completions.create(model="judged", messages=ASK)
    assert err.value.status_code == 502
    steps = row(served, err.value.response.headers["x-request-id"])["attempts"]
    answered = [s for s in steps if not s["target"].startswith("check:")]
    judged = [s for s in steps if s["target"].startswith("check:")]
    assert [s["target"] for s in answered] == ["up/cheap-model", "up/strong-model"]
    assert all("judge 'strict-judge' said: FAIL" in s["error"] for s in answered)
    assert len(judged) == 2 and all(s["cost_usd"] > 0 for s in judged + answered)  # every step was paid for


def test_cascade_streams_only_the_final_answer(served):
    stream = client(served).chat.completions.create(model="smart-refuses", messages=ASK, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"echo: {ASK[0]['content']}"  # never the cheap model's refusal


def test_prompt_version_is_rendered_and_logged(served, openai_upstream):
    c = client(served)
    raw = c.chat.completions.with_raw_response.create(
        model="prompt:support-reply@1", messages=[],
        extra_body={"variables": {"customer": "Ada", "issue": "my order is late"}})
    sent = openai_upstream.requests[-1]
    assert sent["messages"] == [{"role": "system", "content": "You are ACME support."},
                                {"role": "user", "content": "Customer Ada writes: my order is late"}]
    assert "variables" not in sent and sent["model"] == "gpt-4o-mini"
    logged = row(served, raw.headers["x-request-id"])
    assert (logged["prompt"], logged["prompt_version"], logged["alias"]) == ("support-reply", "1", "plain")

    c.chat.completions.create(model="prompt:support-reply", messages=[],
                              extra_body={"variables": {"customer": "Bo", "issue": "refund"}})
    sent = openai_upstream.requests[-1]
    assert sent["messages"][1]["content"] == "Bo: refund" and sent["temperature"] == 0.1  # the live version: 2


def test_prompt_named_in_the_header(served, openai_upstream):
    raw = client(served, **{"x-switchyard-prompt": "support-reply@1"}).chat.completions.with_raw_response.create(
        model="plain", messages=[], extra_body={"variables": {"customer": "Cy", "issue": "noise"}})
    assert openai_upstream.requests[-1]["messages"][1]["content"] == "Customer Cy writes: noise"
    logged = row(served, raw.headers["x-request-id"])
    assert (logged["prompt"], logged["prompt_version"]) == ("support-reply", "1")


def test_a_promotion_reaches_the_running_gateway(served, openai_upstream):
    c = client(served)
    c.chat.completions.create(model="prompt:promo", messages=[])
    assert openai_upstream.requests[-1]["messages"] == [{"role": "user", "content": "version one"}]
    promoted = subprocess.run([sys.executable, "-m", "switchyard", "prompts", "promote", "promo", "2",
                               "--config", str(served.config_path)], capture_output=True, text=True, timeout=60)
    assert promoted.returncode == 0 and "live version 1 -> 2" in promoted.stdout, promoted.stderr
    deadline = time.monotonic() + 10
    while True:  # the registry looks at the folder at most once a second
        raw = c.chat.completions.with_raw_response.create(model="prompt:promo", messages=[])
        if row(served, raw.headers["x-request-id"])["prompt_version"] == "2" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    logged = row(served, raw.headers["x-request-id"])
    assert (logged["prompt_version"], logged["alias"], logged["structured"]) == ("2", "repairable", "repaired")
    # version 2's output_schema became the response_format, and the answer was made to match it
    assert json.loads(raw.parse().choices[0].message.content) == {"reply": "version two"}
    assert raw.headers["x-switchyard-structured"] == "repaired"


def test_prompt_errors_are_clear(served):
    c = client(served)
    with pytest.raises(openai.BadRequestError) as err:
        c.chat.completions.create(model="prompt:support-reply@1", messages=[],
                                  extra_body={"variables": {"customer": "Ada"}})
    assert "issue" in err.value.response.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="prompt:no-such-prompt", messages=[])


def user_in(arm: str) -> str:
    return next(u for u in (f"user-{i}" for i in range(1000)) if assign(AB_TEST, u).name == arm)


@pytest.mark.parametrize(("arm", "messages", "params"), [
    ("control", ["Long answers.", "Issue: late", "thanks"], {"max_tokens": 50}),
    ("short", ["Short answers.", "late", "thanks"], {"temperature": 0.1}),  # version 2 instead of 1, not around it
    ("warm", ["Long answers.", "Issue: late", "thanks"], {"max_tokens": 50, "temperature": 0.7}),
])
def test_experiment_arm_shapes_a_prompt_request(served, openai_upstream, arm, messages, params):
    raw = client(served).chat.completions.with_raw_response.create(
        model="prompt:ab-reply", messages=[{"role": "user", "content": "thanks"}], user=user_in(arm),
        extra_body={"variables": {"issue": "late"}})
    assert raw.parse().choices[0].message.content == "echo: thanks"
    sent = openai_upstream.requests[-1]
    assert [m["content"] for m in sent["messages"]] == messages
    assert {k: sent[k] for k in ("max_tokens", "temperature") if k in sent} == params
    logged = row(served, raw.headers["x-request-id"])
    assert (logged["alias"], logged["experiment"], logged["variant"]) == ("ab", "ab-test", arm)


def test_the_log_names_the_prompt_version_an_arm_rendered(served):
    raw = client(served).chat.completions.with_raw_response.create(
        model="prompt:ab-reply", messages=[], user=user_in("short"), extra_body={"variables": {"issue": "late"}})
    logged = row(served, raw.headers["x-request-id"])
    assert (logged["variant"], logged["prompt"], logged["prompt_version"]) == ("short", "ab-reply", "2")
