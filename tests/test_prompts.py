"""Prompt registry: prompt files, their validation errors (file:line: key), resolving
`name@version`, rendering in the sandbox, reloading edited files, promotion, and the
`switchyard prompts` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from switchyard.cli import cli as cli_group
from switchyard.errors import BadRequest, NotFound
from switchyard.prompts import PromptFileError, PromptRegistry, parse_prompt, parse_ref, promote, render

SUPPORT = """\
# the support desk's answer prompt
name: support-reply            # must match the file name
description: Answer a support ticket politely
live: 2                        # the version served when a client names no version
versions:
  1:
    model: chat
    variables: [customer, issue]
    messages:
      - {role: system, content: "You are a support agent for ACME."}
      - {role: user, content: "Customer {{ customer }} writes: {{ issue }}"}
  2:
    model: chat
    variables: [customer, issue]
    params: {temperature: 0.2, max_tokens: 400}
    output_schema: {type: object, properties: {reply: {type: string}}, required: [reply]}
    messages:
      - role: system
        content: |
          You are a support agent for ACME.
          Answer as JSON with a "reply" field.
      - {role: user, content: "Customer {{ customer }} writes: {{ issue }}"}
  3:
    model: big
    variables: [customer, issue, tone]
    messages:
      - {role: system, content: "Be {{ tone }}."}
      - {role: user, content: "{{ customer }}: {{ issue }}"}
"""

SUMMARY = """\
name: summary
live: 1
versions:
  1:
    model: small
    messages:
      - {role: system, content: Summarize the conversation in one sentence.}
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "prompts"
    d.mkdir()
    (d / "support-reply.yaml").write_text(SUPPORT)
    (d / "summary.yaml").write_text(SUMMARY)
    (d / "notes.txt").write_text("not a prompt")
    return d


def problems(text: str, name: str | None = None) -> list[str]:
    """The error lines for `text` read as `p.yaml`, or as `<name>.yaml` checking the name."""
    with pytest.raises(PromptFileError) as info:
        parse_prompt(text, f"{name or 'p'}.yaml", name=name)
    return str(info.value).splitlines()


def bump(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime, so a change within the filesystem's mtime granularity shows."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


# --- loading and validation -----------------------------------------------------------------------

def test_registry_loads_every_yaml_file(folder):
    registry = PromptRegistry(folder)
    assert [p.name for p in registry.prompts()] == ["summary", "support-reply"]
    prompt = registry.get("support-reply")
    assert prompt.description == "Answer a support ticket politely"
    assert prompt.live == 2 and sorted(prompt.versions) == [1, 2, 3]
    v2 = prompt.versions[2]
    assert v2.alias == "chat" and v2.variables == ("customer", "issue") and v2.live
    assert v2.params == {"temperature": 0.2, "max_tokens": 400}
    assert v2.messages[0] == {"role": "system",
                              "content": 'You are a support agent for ACME.\nAnswer as JSON with a "reply" field.\n'}
    assert not prompt.versions[1].live
    assert registry.get("summary").versions[1].variables == ()


@pytest.mark.parametrize(("text", "expected"), [
    (SUPPORT.replace("    params: {temperature", "    parms: {temperature"),
     "p.yaml:15: versions.2.parms: unknown key"),
    (SUPPORT.replace("  3:\n    model: big\n", "  3:\n"),
     "p.yaml:23: versions.3.model: Field required"),
    (SUPPORT.replace("{role: user, content: \"{{ customer }}: {{ issue }}\"}",
                     "{role: robot, content: \"{{ customer }}: {{ issue }}\"}"),
     "p.yaml:28: versions.3.messages[1].role: Input should be 'system', 'developer', 'user' or 'assistant'"),
    (SUPPORT.replace("live: 2 ", "live: 7 "),
     "p.yaml:4: live: no version 7 under versions (versions: 1, 2, 3)"),
    (SUPPORT.replace("Be {{ tone }}.", "Be {{ tone }} and {{ mood }}."),
     "p.yaml:27: versions.3.messages[0].content: uses undeclared variable mood "
     "(declare under versions.3.variables)"),
    (SUPPORT.replace('Answer as JSON with a "reply" field.', "Answer {% if %}"),
     "p.yaml:21: versions.2.messages[0].content: template error: Expected an expression, got 'end of statement "
     "block'"),
    (SUPPORT.replace("  3:\n", "  2:\n"), "p.yaml:23: versions.2: defined twice"),
    (SUPPORT.replace("  3:\n", "  three:\n"),
     "p.yaml:23: versions.three: not a version number (1, 2, ...): Input should be a valid integer, unable to "
     "parse string as an integer"),
    (SUPPORT.replace("variables: [customer, issue, tone]", "variables: [customer, issue, customer]"),
     "p.yaml:25: versions.3.variables[2]: 'customer' is declared twice"),
    (SUPPORT.replace("variables: [customer, issue, tone]", "variables: [customer, issue, 2nd]"),
     "p.yaml:25: versions.3.variables[2]: '2nd' is not a usable variable name (letters, digits and _, not "
     "starting with a digit, not a Jinja keyword)"),
    (SUPPORT.replace("{temperature: 0.2,", "{model: gpt-4o, temperature: 0.2,"),
     "p.yaml:15: versions.2.params.model: a prompt version cannot set 'model'"),
    (SUPPORT.replace("output_schema: {type: object,", "output_schema: {type: thing,"),
     "p.yaml:16: versions.2.output_schema: not a valid JSON Schema at type: 'thing' is not valid under any of "
     "the given schemas"),
    ("name: p\nlive: 1\n", "p.yaml:1: versions: Field required"),
    ("name: [unclosed\n", "p.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("", "p.yaml:1: (top level): the file is empty"),
])
def test_validation_errors_name_file_line_and_key(text, expected):
    assert expected in problems(text), problems(text)


def test_name_must_match_the_file_name():
    assert problems(SUPPORT, "support") == [
        "support.yaml:2: name: must match the file name: expected 'support', got 'support-reply'"]


def test_every_problem_is_reported_at_once():
    # the file's shape first ...
    text = SUPPORT.replace("model: big", "modle: big").replace("    params: {temp", "    parms: {temp")
    assert problems(text) == ["p.yaml:15: versions.2.parms: unknown key",
                              "p.yaml:23: versions.3.model: Field required",
                              "p.yaml:24: versions.3.modle: unknown key"]
    # ... then what the values mean
    text = SUPPORT.replace("live: 2 ", "live: 9 ").replace("{temperature", "{stream: true, temperature") \
        .replace("Be {{ tone }}", "Be {{ tone }}{{ mood }}")
    assert problems(text) == [
        "p.yaml:4: live: no version 9 under versions (versions: 1, 2, 3)",
        "p.yaml:15: versions.2.params.stream: a prompt version cannot set 'stream'",
        "p.yaml:27: versions.3.messages[0].content: uses undeclared variable mood (declare under versions.3.variables)"]


def test_a_broken_file_fails_the_registry_or_is_skipped(folder):
    (folder / "broken.yaml").write_text("name: broken\nlive: 1\nversions:\n  1: {model: m, messages: []}\n")
    with pytest.raises(PromptFileError, match=r"broken\.yaml:4: versions\.1\.messages: List should have at least"):
        PromptRegistry(folder)
    registry = PromptRegistry(folder, strict=False)
    assert [p.name for p in registry.prompts()] == ["summary", "support-reply"]
    assert list(registry.errors) == ["broken.yaml"]
    with pytest.raises(NotFound, match="prompt 'broken' is not available: its file has errors"):
        registry.resolve("broken")


def test_missing_folder(tmp_path):
    with pytest.raises(PromptFileError, match="prompts folder not found"):
        PromptRegistry(tmp_path / "nope")


# --- resolving ------------------------------------------------------------------------------------

def test_resolve_live_numbered_and_unknown(folder):
    registry = PromptRegistry(folder)
    assert registry.resolve("support-reply").version == 2
    assert registry.resolve("support-reply@live").version == 2
    assert registry.resolve("support-reply@1").version == 1
    assert registry.resolve("prompt:support-reply@3").alias == "big"
    with pytest.raises(NotFound, match="no prompt named 'nope'"):
        registry.resolve("nope@1")
    with pytest.raises(NotFound, match=r"prompt 'support-reply' has no version 9 \(versions: 1, 2, 3; live: 2\)"):
        registry.resolve("support-reply@9")
    with pytest.raises(NotFound, match="the version must be a number or 'live'"):
        registry.resolve("support-reply@latest")
    with pytest.raises(NotFound) as info:
        registry.resolve("@2")
    assert info.value.status == 404 and info.value.code == "prompt_not_found"


def test_parse_ref():
    assert parse_ref("a") == ("a", None)
    assert parse_ref("a@live") == ("a", None)
    assert parse_ref(" prompt:a.b-c@12 ") == ("a.b-c", 12)


# --- rendering ------------------------------------------------------------------------------------

def test_render_fills_variables_and_appends_client_messages(folder):
    registry = PromptRegistry(folder)
    version = registry.resolve("support-reply")
    client = [{"role": "user", "content": "Also, {{ customer }} is {{ 7 * 6 }}"}]
    out = render(version, {"customer": "Ann <ann@x>", "issue": "printer {{ on fire }}"}, client)
    assert (out.name, out.version, out.alias, out.ref) == ("support-reply", 2, "chat", "support-reply@2")
    assert out.messages == [
        {"role": "system", "content": 'You are a support agent for ACME.\nAnswer as JSON with a "reply" field.\n'},
        # values are data: not escaped (autoescape off) and never rendered as templates
        {"role": "user", "content": "Customer Ann <ann@x> writes: printer {{ on fire }}"},
        {"role": "user", "content": "Also, {{ customer }} is {{ 7 * 6 }}"},
    ]
    assert out.params == {"temperature": 0.2, "max_tokens": 400}
    assert out.response_format == {"type": "json_schema", "json_schema": {"name": "support-reply", "schema": {
        "type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}}}
    client[0]["content"] = "changed"
    assert out.messages[2]["content"].startswith("Also")  # copied, not shared

    plain = render(registry.resolve("support-reply@1"), {"customer": "Bo", "issue": "x"}, [])
    assert plain.response_format is None and plain.params == {}
    assert render(registry.resolve("summary"), None).messages == [
        {"role": "system", "content": "Summarize the conversation in one sentence."}]


@pytest.mark.parametrize(("variables", "message"), [
    ({"customer": "Ann"}, "prompt support-reply@2: missing variable issue (it takes: customer, issue)"),
    ({}, "prompt support-reply@2: missing variables customer, issue (it takes: customer, issue)"),
    ({"customer": "A", "issue": "b", "tone": "c", "mood": "d"},
     "prompt support-reply@2: unknown variables mood, tone (it takes: customer, issue)"),
    ({"customer": "A", "tone": "c"},
     "prompt support-reply@2: missing variable issue; unknown variable tone (it takes: customer, issue)"),
    (["customer", "issue"], "prompt support-reply@2: `variables` must be a JSON object, got an array"),
])
def test_missing_or_unknown_variables_are_bad_requests(folder, variables, message):
    version = PromptRegistry(folder).resolve("support-reply")
    with pytest.raises(BadRequest) as info:
        render(version, variables, [])
    assert info.value.message == message and info.value.status == 400


def test_apply_client_values_win_over_the_versions(folder):
    registry = PromptRegistry(folder)
    out = render(registry.resolve("support-reply"), {"customer": "A", "issue": "b"},
                 [{"role": "user", "content": "hi"}])
    body = {"model": "prompt:support-reply", "variables": {"customer": "A", "issue": "b"},
            "messages": [{"role": "user", "content": "hi"}], "temperature": 0.9, "max_completion_tokens": 50,
            "stream": True, "user": "u1", "top_p": None}
    sent = out.apply(body)
    assert sent == {"model": "chat", "messages": out.messages, "temperature": 0.9, "max_completion_tokens": 50,
                    "stream": True, "user": "u1", "top_p": None, "response_format": out.response_format}
    assert "variables" in body and body["model"] == "prompt:support-reply"  # the client's body is not changed
    defaults = out.apply({"model": "prompt:support-reply", "messages": [], "temperature": None})
    assert defaults["temperature"] == 0.2 and defaults["max_tokens"] == 400
    text = out.apply({"model": "x", "messages": [], "response_format": {"type": "text"}})
    assert text["response_format"] == {"type": "text"}


def test_sandbox_refuses_python_internals(tmp_path):
    def prompt(content: str, variables: str = "[x]") -> str:
        return (f"name: p\nlive: 1\nversions:\n  1:\n    model: m\n    variables: {variables}\n"
                f"    messages:\n      - role: user\n        content: \"{content}\"\n")

    # visible in the template's text: refused when the file is read
    for content, attribute in (("{{ ''.__class__.__mro__ }}", "__mro__"), ("{{ x['__class__'] }}", "__class__"),
                               ("{{ x.__init__.__globals__ }}", "__globals__")):
        assert problems(prompt(content)) == [f"p.yaml:9: versions.1.messages[0].content: line 1: templates cannot "
                                             f"read attributes starting with '_' ({attribute})"]
    assert "templates cannot include, import or extend" in problems(prompt("{% include '/etc/passwd' %}"))[0]

    # computed at render time: the sandbox refuses, the client gets a 400, nothing leaks
    version = parse_prompt(prompt("{{ x|attr('__cl' ~ 'ass__') }}"), "p.yaml", name="p").versions[1]
    with pytest.raises(BadRequest, match=r"prompt p@1: message 0 could not be rendered: .*unsafe"):
        render(version, {"x": "s"})
    version = parse_prompt(prompt("{{ (x|attr('up' ~ 'per'))|attr('_' ~ '_self__') }}"), "p.yaml",
                           name="p").versions[1]
    with pytest.raises(BadRequest, match="could not be rendered"):
        render(version, {"x": "s"})
    # a value lacking what the template reads is a 400 too, naming the problem
    version = parse_prompt(prompt("{{ x.name }}"), "p.yaml", name="p").versions[1]
    with pytest.raises(BadRequest, match="'str object' has no attribute 'name'"):
        render(version, {"x": "s"})
    assert render(version, {"x": {"name": "Ann"}}).messages[0]["content"] == "Ann"


# --- reloading ------------------------------------------------------------------------------------

def test_edits_reach_the_registry_after_the_check_interval(folder, monkeypatch):
    import switchyard.prompts.registry as registry_module

    now = [1000.0]
    monkeypatch.setattr(registry_module.time, "monotonic", lambda: now[0])
    registry = PromptRegistry(folder)
    path = folder / "support-reply.yaml"
    bump(path, SUPPORT.replace("live: 2 ", "live: 3 "))
    now[0] += 0.5
    assert registry.resolve("support-reply").version == 2  # checked less than a second ago: not yet
    now[0] += 0.6
    assert registry.resolve("support-reply").version == 3

    # a new file appears, another is removed
    bump(folder / "greet.yaml", SUMMARY.replace("name: summary", "name: greet"))
    (folder / "summary.yaml").unlink()
    now[0] += 1.1
    assert [p.name for p in registry.prompts()] == ["greet", "support-reply"]
    with pytest.raises(NotFound):
        registry.resolve("summary")


def test_a_broken_edit_keeps_the_last_good_version(folder):
    registry = PromptRegistry(folder, check_interval=0)
    path = folder / "support-reply.yaml"
    bump(path, SUPPORT.replace("live: 2 ", "live: 3 ").replace("model: big", "model: [big"))
    assert registry.resolve("support-reply").version == 2
    assert "not valid YAML" in registry.errors["support-reply.yaml"]
    bump(path, SUPPORT.replace("live: 2 ", "live: 3 "))
    assert registry.resolve("support-reply").version == 3
    assert registry.errors == {}


def test_refresh_reports_changes(folder):
    registry = PromptRegistry(folder, check_interval=3600)
    assert registry.refresh() is False
    bump(folder / "summary.yaml", SUMMARY.replace("small", "tiny"))
    assert registry.resolve("summary").alias == "small"  # not checked yet
    assert registry.refresh() is True
    assert registry.resolve("summary").alias == "tiny"


# --- promotion ------------------------------------------------------------------------------------

def test_promote_rewrites_only_the_live_value(folder):
    path = folder / "support-reply.yaml"
    before = path.read_bytes()
    assert promote(folder, "support-reply", 3) == (2, 3)
    after = path.read_bytes()
    assert after == before.replace(b"live: 2                        #", b"live: 3                        #")
    assert promote(folder, "support-reply", "3") == (3, 3)
    assert path.read_bytes() == after
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_promote_keeps_crlf_quotes_and_flow_style(tmp_path):
    path = tmp_path / "p.yaml"
    text = ('{name: p, live: "1", versions: {1: {model: m, messages: [{role: user, content: a}]},\r\n'
            '  12: {model: m, messages: [{role: user, content: b}]}}}  # flow style\r\n')
    path.write_bytes(text.encode())
    assert promote(tmp_path, "p", 12) == (1, 12)
    assert path.read_bytes() == text.replace('live: "1"', "live: 12").encode()


def test_promote_refuses_unknown_versions_and_broken_files(folder):
    path = folder / "support-reply.yaml"
    before = path.read_bytes()
    with pytest.raises(NotFound, match=r"prompt 'support-reply' has no version 4 \(versions: 1, 2, 3\)"):
        promote(folder, "support-reply", 4)
    with pytest.raises(NotFound, match="'two' is not a version number"):
        promote(folder, "support-reply", "two")
    with pytest.raises(NotFound, match="no prompt named 'nope'"):
        promote(folder, "nope", 1)
    with pytest.raises(NotFound, match=r"no prompt named '\.\./prompts/summary'"):
        promote(folder, "../prompts/summary", 1)
    assert path.read_bytes() == before
    broken = SUPPORT.replace("model: big", "model: [big")
    path.write_text(broken)
    with pytest.raises(PromptFileError, match="not valid YAML"):
        promote(folder, "support-reply", 1)
    assert path.read_text() == broken


def test_a_promotion_reaches_a_running_registry(folder):
    registry = PromptRegistry(folder, check_interval=0)
    assert registry.resolve("support-reply").version == 2
    promote(folder, "support-reply", 1)
    assert registry.resolve("support-reply").version == 1


# --- the CLI --------------------------------------------------------------------------------------

def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHYARD_CONFIG"}
    return subprocess.run([sys.executable, "-m", "switchyard", "prompts", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


@pytest.fixture
def project(tmp_path, folder) -> Path:
    """A config in a sub-folder whose prompts.dir is relative to it."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "switchyard.yaml").write_text("prompts: {dir: ../prompts}\n")
    return conf / "switchyard.yaml"


def test_cli_list(tmp_path, project, folder):
    result = cli("list", "--config", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "live", "versions", "alias", "description"]
    assert lines[2].split() == ["summary", "1", "1", "small"]
    assert lines[3].split() == ["support-reply", "2", "1,2,3", "chat", "Answer", "a", "support", "ticket", "politely"]
    assert cli("--dir", str(folder), cwd=tmp_path).stdout == result.stdout  # bare `prompts` lists

    (folder / "broken.yaml").write_text("name: other\nlive: 1\nversions:\n  1: {model: m, messages: [{role: user, "
                                        "content: x}]}\n")
    result = cli("list", "--dir", str(folder), cwd=tmp_path)
    assert result.returncode == 1 and "support-reply" in result.stdout
    assert result.stderr == (f"error: {folder / 'broken.yaml'}:1: name: must match the file name: "
                             "expected 'broken', got 'other'\n")


def test_cli_show(tmp_path, project):
    result = cli("show", "support-reply", "-c", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == """\
prompt: support-reply
version: 2
live: true
model: chat
variables:
- customer
- issue
params:
  temperature: 0.2
  max_tokens: 400
output_schema:
  type: object
  properties:
    reply:
      type: string
  required:
  - reply
messages:
- role: system
  content: |
    You are a support agent for ACME.
    Answer as JSON with a "reply" field.
- role: user
  content: 'Customer {{ customer }} writes: {{ issue }}'
"""
    assert "version: 1\nlive: false\n" in cli("show", "support-reply@1", "-c", str(project), cwd=tmp_path).stdout


def test_cli_diff(tmp_path, folder):
    result = cli("diff", "support-reply", "live", "3", "--dir", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("--- support-reply@2\n+++ support-reply@3\n@@ ")
    assert "-model: chat\n+model: big\n" in result.stdout
    assert "+- tone\n" in result.stdout
    assert "-  content: 'Customer {{ customer }} writes: {{ issue }}'\n" in result.stdout
    same = cli("diff", "support-reply", "2", "live", "--dir", str(folder), cwd=tmp_path)
    assert same.stdout == "support-reply@2 and support-reply@2 are the same\n"


def test_cli_promote(tmp_path, project, folder):
    result = cli("promote", "support-reply", "3", "-c", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"support-reply: live version 2 -> 3 ({project.parent / '../prompts/support-reply.yaml'})\n"
    assert (folder / "support-reply.yaml").read_text() == SUPPORT.replace("live: 2 ", "live: 3 ")
    again = cli("promote", "support-reply", "3", "--dir", str(folder), cwd=tmp_path)
    assert again.stdout == "support-reply: version 3 is already live\n"


@pytest.mark.parametrize(("args", "error"), [
    (("show", "nope"), "Error: no prompt named 'nope'"),
    (("show", "support-reply@8"), "Error: prompt 'support-reply' has no version 8 (versions: 1, 2, 3; live: 2)"),
    (("diff", "support-reply", "1", "5"), "Error: prompt 'support-reply' has no version 5 (versions: 1, 2, 3; "
                                          "live: 2)"),
    (("promote", "support-reply", "5"), "Error: prompt 'support-reply' has no version 5 (versions: 1, 2, 3)"),
])
def test_cli_errors_are_one_line(tmp_path, folder, args, error):
    # in-process (the same click objects as `python -m switchyard`), to spare a Python start-up each
    result = CliRunner().invoke(cli_group, ["prompts", *args, "--dir", str(folder)], env={"SWITCHYARD_CONFIG": None})
    assert result.exit_code == 1
    assert result.stderr == error + "\n"


def test_cli_without_a_folder(tmp_path):
    result = cli("list", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("Error: no prompts folder: pass --dir DIR, or --config FILE (or ./switchyard.yaml) "
                             "with prompts.dir set\n")
    (tmp_path / "switchyard.yaml").write_text("server: {port: 4001}\n")
    result = cli("list", cwd=tmp_path)
    assert result.stderr == "Error: switchyard.yaml: sets no prompts.dir; add `prompts: {dir: prompts}` or pass " \
                            "--dir DIR\n"
