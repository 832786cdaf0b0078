"""`switchyard models list | pull | fit`: GGUF files on disk, downloads from a fake hub,
and the hardware advisor, with one readable line for every error."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from switchyard.cli import cli
from switchyard.cli.models import _locations
from tests.engine.fake_hub import FakeHub
from tests.fakes import FakeServer

STORIES = Path(__file__).parents[1].parent / "shared/models/stories260K.gguf"
needs_stories = pytest.mark.skipif(not STORIES.exists(), reason=f"the test model {STORIES} is not here")
REPO = "karpathy/tinyllamas-GGUF"


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    """Run the CLI in-process from an empty directory with no config and no hub settings."""
    monkeypatch.chdir(tmp_path)
    env = {"SWITCHYARD_CONFIG": None, "HF_ENDPOINT": None, "HF_TOKEN": None,
           "SWITCHYARD_MODELS_DIR": str(tmp_path / "default-models")}

    def run(*args: str, **extra_env: str):
        return CliRunner().invoke(cli, list(args), env={**env, **extra_env})

    return run


@pytest.fixture
def models_dir(tmp_path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    try:
        (d / "stories260K.gguf").symlink_to(STORIES)
    except OSError:
        shutil.copy(STORIES, d / "stories260K.gguf")
    return d


@needs_stories
def test_list_shows_gguf_metadata(invoke, models_dir):
    result = invoke("models", "list", "--dir", str(models_dir))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"GGUF models in {models_dir}:" in out
    header = next(line for line in out.splitlines() if line.startswith("file"))
    assert header.split() == ["file", "arch", "params", "quant", "ctx", "size", "name"]
    row = next(line for line in out.splitlines() if line.startswith("stories260K.gguf"))
    assert row.split()[:6] == ["stories260K.gguf", "llama", "293K", "F32", "512", "1.13"]
    assert "alias" not in out  # no config: no aliases table


@needs_stories
def test_list_defaults_to_the_models_dir(invoke, models_dir):
    result = invoke("models", "list", SWITCHYARD_MODELS_DIR=str(models_dir))
    assert result.exit_code == 0, result.output
    assert "stories260K.gguf" in result.stdout and "F32" in result.stdout


def test_list_empty_and_missing_dirs_say_how_to_get_a_model(invoke, tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("models", "list", "--dir", str(tmp_path / "empty"), "--dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 0, result.output
    assert "switchyard models pull OWNER/REPO/FILE.gguf" in result.stdout
    assert f"GGUF models in {tmp_path / 'nowhere'}: (not found)" in result.stdout


def test_list_reports_an_unreadable_file_and_goes_on(invoke, tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    (d / "broken.gguf").write_bytes(b"not a model at all")
    result = invoke("models", "list", "--dir", str(d))
    assert result.exit_code == 0, result.output
    assert "unreadable" in result.stdout
    assert result.stderr.strip() == f"warning: {d / 'broken.gguf'}: not a GGUF file (starts with b'not ', " \
                                    "expected b'GGUF')"


@needs_stories
def test_list_with_a_config_shows_aliases_and_the_llamacpp_models_dir(invoke, tmp_path, models_dir):
    config = tmp_path / "sy.yaml"
    config.write_text(f"providers:\n  local: {{kind: llamacpp, models_dir: '{models_dir}'}}\n"
                      "models:\n  - name: tiny\n    targets: [{provider: local, model: stories260K}]\n")
    result = invoke("models", "list", "--config", str(config), "--dir", str(tmp_path / "other"))
    assert result.exit_code == 0, result.output
    assert "tiny" in result.stdout and "local/stories260K" in result.stdout
    assert f"GGUF models in {models_dir}:" in result.stdout and "stories260K.gguf" in result.stdout


def test_llamacpp_providers_add_their_dirs_and_files(tmp_path):
    model = tmp_path / "one.gguf"
    config = SimpleNamespace(providers={
        "a": SimpleNamespace(kind="llamacpp", models_dir=str(tmp_path / "dir"), model_path=None),
        "b": SimpleNamespace(kind="llamacpp", models_dir=None, model_path=str(model)),
        "c": SimpleNamespace(kind="openai")})
    places = [p for p, _ in _locations(config, (str(tmp_path / "cli"),))]
    assert places == [tmp_path / "cli", tmp_path / "dir", model]
    assert [p for p, _ in _locations(None, ())] == [Path(os.environ.get("SWITCHYARD_MODELS_DIR") or
                                                         Path.home() / ".cache/switchyard/models")]


@needs_stories
def test_pull_from_the_hub(invoke, tmp_path):
    hub = FakeHub()
    hub.add(f"{REPO}/stories260K.gguf", STORIES.read_bytes())
    with FakeServer(hub.app()) as server:
        result = invoke("models", "pull", f"{REPO}/stories260K.gguf", "--dir", str(tmp_path / "dl"),
                        HF_ENDPOINT=server.url)
    assert result.exit_code == 0, result.output
    saved = tmp_path / "dl" / "stories260K.gguf"
    assert saved.read_bytes() == STORIES.read_bytes()
    assert f"saved {saved}" in result.stdout and "F32" in result.stdout and "293K parameters" in result.stdout
    assert "100.0%" in result.stderr  # the progress bar
    # into the default models dir when no --dir is given
    with FakeServer(hub.app()) as server:
        result = invoke("models", "pull", f"{REPO}/stories260K.gguf", HF_ENDPOINT=server.url)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "default-models" / "stories260K.gguf").exists()


def test_pull_hash_mismatch_is_one_line(invoke, tmp_path):
    hub = FakeHub()
    hub.add(f"{REPO}/x.gguf", b"GGUF" + b"\0" * 1000, wrong_hash=True)
    with FakeServer(hub.app()) as server:
        result = invoke("models", "pull", f"{REPO}/x.gguf", "--dir", str(tmp_path), HF_ENDPOINT=server.url)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(f"Error: {REPO}/x.gguf: sha256 mismatch")
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / "x.gguf.part").exists()


def test_pull_bad_argument_is_one_line(invoke):
    result = invoke("models", "pull", "not-a-repo-path")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 'not-a-repo-path' is not OWNER/REPO/FILE")


def test_pull_offline_is_one_readable_error_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("SWITCHYARD_CONFIG", "HF_TOKEN")}
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    result = subprocess.run([sys.executable, "-m", "switchyard", "models", "pull", f"{REPO}/stories260K.gguf",
                             "--dir", str(tmp_path / "m")], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: could not reach the model hub at http://127.0.0.1:{port} (connection refused)")
    assert "copy a .gguf file into" in lines[0] and "switchyard serve --model PATH" in lines[0]


@needs_stories
def test_fit_prints_the_table_and_the_file(invoke):
    result = invoke("models", "fit", "--model", str(STORIES))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "This machine:" in out and "RAM:" in out and "GPU:" in out and "Bandwidth:" in out
    assert "(measured" in out or "(default)" in out
    for size in ("1B", "3B", "8B", "14B", "32B", "70B"):
        assert any(line.startswith(size + " ") for line in out.splitlines()), size
    seventy_f16 = next(line for line in out.splitlines() if line.startswith("70B") and " F16 " in line)
    assert " no " in seventy_f16
    row = next(line for line in out.splitlines() if line.startswith("stories260K.gguf"))
    assert row.split()[:5] == ["stories260K.gguf", "llama", "293K", "F32", "512"]
    assert " yes " in row
    assert "capped at the context length" in out


def test_fit_without_a_model_and_with_a_bad_one(invoke, tmp_path):
    result = invoke("models", "fit", "--ctx", "8192", "--no-bench")
    assert result.exit_code == 0, result.output
    assert "8192-token context" in result.stdout and "10.0 GB/s (default)" in result.stdout
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nope")
    result = invoke("models", "fit", "--model", str(bad), "--no-bench")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {bad}: not a GGUF file (starts with b'nope', expected b'GGUF')"
    result = invoke("models", "fit", "--model", str(tmp_path / "missing.gguf"), "--no-bench")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
