"""switchyard.engine.hub.pull against a fake hub on 127.0.0.1: verified downloads, resume
with a Range request, hash mismatches, redirects to a CDN, and the offline error."""

from __future__ import annotations

import hashlib
import io
import random
import socket

import pytest

from switchyard.engine import hub
from tests.engine.fake_hub import FakeHub
from tests.fakes import FakeServer

DATA = random.Random(7).randbytes(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(DATA).hexdigest()
REPO = "someone/Tiny-GGUF"


@pytest.fixture(scope="module")
def fake_hub():
    h = FakeHub()
    for name in ("model.gguf", "resume.gguf", "complete-part.gguf", "corrupt-part.gguf", "big-part.gguf"):
        h.add(f"{REPO}/{name}", DATA)
    h.add(f"{REPO}/plain.bin", DATA, mode="etag")
    h.add(f"{REPO}/README.md", b"# hello\n" * 100, mode="git")
    h.add(f"{REPO}/bad.gguf", DATA, wrong_hash=True)
    h.add(f"{REPO}/bad-git.md", b"text\n", mode="git", wrong_hash=True)
    h.add(f"{REPO}/cdn.gguf", DATA, redirect=True)
    h.add(f"{REPO}/flaky.gguf", DATA, drop_once=True)
    h.add(f"{REPO}/nohash.bin", DATA, mode="none")
    h.add(f"{REPO}/sub/dir/nested.gguf", DATA)
    with FakeServer(h.app()) as server:
        h.url = server.url
        yield h


def pull(fake_hub, name, dest, **kwargs):
    kwargs.setdefault("progress", False)
    return hub.pull(f"{REPO}/{name}", dest, endpoint=fake_hub.url, **kwargs)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def requests_for(fake_hub, name):
    return [(path, rng, auth) for path, rng, auth in fake_hub.seen if path.endswith("/" + name)]


def test_full_download_is_verified_and_renamed(fake_hub, tmp_path):
    out = io.StringIO()
    path = pull(fake_hub, "model.gguf", tmp_path / "models", progress=True, stream=out)
    assert path == tmp_path / "models" / "model.gguf"
    assert sha(path) == SHA
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.gguf"]  # no .part left
    assert requests_for(fake_hub, "model.gguf")[-1][1] is None  # no Range on a fresh download
    assert "100.0%" in out.getvalue() and "MB/s" in out.getvalue()


def test_resume_from_a_partial_download_uses_range(fake_hub, tmp_path):
    (tmp_path / "resume.gguf.part").write_bytes(DATA[:1_000_000])
    out = io.StringIO()
    path = pull(fake_hub, "resume.gguf", tmp_path, progress=True, stream=out)
    assert requests_for(fake_hub, "resume.gguf")[-1][1] == "bytes=1000000-"
    assert sha(path) == SHA
    assert not (tmp_path / "resume.gguf.part").exists()
    assert "resuming" in out.getvalue()


def test_a_complete_part_file_is_verified_without_downloading_again(fake_hub, tmp_path):
    (tmp_path / "complete-part.gguf.part").write_bytes(DATA)
    path = pull(fake_hub, "complete-part.gguf", tmp_path)  # the server answers 416
    assert requests_for(fake_hub, "complete-part.gguf")[-1][1] == f"bytes={len(DATA)}-"
    assert sha(path) == SHA


def test_a_part_file_larger_than_the_file_starts_over(fake_hub, tmp_path):
    (tmp_path / "big-part.gguf.part").write_bytes(DATA + b"extra bytes")
    path = pull(fake_hub, "big-part.gguf", tmp_path)
    assert sha(path) == SHA
    assert requests_for(fake_hub, "big-part.gguf")[-1][1] is None


def test_a_corrupt_partial_download_fails_the_hash_and_is_deleted(fake_hub, tmp_path):
    (tmp_path / "corrupt-part.gguf.part").write_bytes(b"\0" * 500_000)
    with pytest.raises(hub.HubError, match="sha256 mismatch"):
        pull(fake_hub, "corrupt-part.gguf", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_hash_mismatch_raises_and_leaves_no_file(fake_hub, tmp_path):
    with pytest.raises(hub.HubError, match=r"sha256 mismatch \(expected 0{64}, got " + SHA):
        pull(fake_hub, "bad.gguf", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_etag_sha256_is_used_without_x_linked_etag(fake_hub, tmp_path):
    assert sha(pull(fake_hub, "plain.bin", tmp_path)) == SHA


def test_a_git_sha1_etag_is_checked_as_a_git_blob(fake_hub, tmp_path):
    assert pull(fake_hub, "README.md", tmp_path).read_bytes() == b"# hello\n" * 100
    with pytest.raises(hub.HubError, match="checksum mismatch"):
        pull(fake_hub, "bad-git.md", tmp_path)
    assert not (tmp_path / "bad-git.md").exists() and not (tmp_path / "bad-git.md.part").exists()


def test_no_checksum_keeps_the_file_with_a_warning(fake_hub, tmp_path):
    out = io.StringIO()
    path = pull(fake_hub, "nohash.bin", tmp_path, progress=True, stream=out)
    assert sha(path) == SHA
    assert "not verified" in out.getvalue()


def test_redirect_to_a_cdn_uses_the_hubs_x_linked_etag_and_keeps_the_token_at_the_hub(fake_hub, tmp_path):
    path = pull(fake_hub, "cdn.gguf", tmp_path, token="hf_secret")
    assert sha(path) == SHA
    seen = requests_for(fake_hub, "cdn.gguf")[-2:]
    assert seen[0][0].endswith("/resolve/main/cdn.gguf") and seen[0][2] == "Bearer hf_secret"
    assert seen[1][0].startswith("/cdn/") and seen[1][2] is None


def test_an_interrupted_download_keeps_the_part_and_resumes(fake_hub, tmp_path):
    with pytest.raises(hub.HubError, match=r"interrupted.*run the same command again to resume"):
        pull(fake_hub, "flaky.gguf", tmp_path)
    part = tmp_path / "flaky.gguf.part"
    assert part.exists() and 0 < part.stat().st_size < len(DATA)
    assert not (tmp_path / "flaky.gguf").exists()
    have = part.stat().st_size
    path = pull(fake_hub, "flaky.gguf", tmp_path)
    assert requests_for(fake_hub, "flaky.gguf")[-1][1] == f"bytes={have}-"
    assert sha(path) == SHA


def test_files_in_subfolders_are_saved_by_their_name(fake_hub, tmp_path):
    path = pull(fake_hub, "sub/dir/nested.gguf", tmp_path)
    assert path == tmp_path / "nested.gguf" and sha(path) == SHA


def test_an_existing_file_is_not_downloaded_again(fake_hub, tmp_path):
    (tmp_path / "model.gguf").write_bytes(b"already here")
    before = len(fake_hub.seen)
    assert pull(fake_hub, "model.gguf", tmp_path).read_bytes() == b"already here"
    assert len(fake_hub.seen) == before


def test_hf_endpoint_and_hf_token_come_from_the_environment(fake_hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url + "/")
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    path = hub.pull(f"{REPO}/model.gguf", tmp_path, progress=False)
    assert sha(path) == SHA
    assert requests_for(fake_hub, "model.gguf")[-1][2] == "Bearer hf_from_env"


def test_missing_file_is_a_clear_404(fake_hub, tmp_path):
    with pytest.raises(hub.HubError, match="not found on the hub"):
        pull(fake_hub, "nope.gguf", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["just-a-name.gguf", "owner/file.gguf", "owner/repo/../x.gguf", ""])
def test_malformed_repo_file(bad, tmp_path):
    with pytest.raises(hub.HubError, match="is not OWNER/REPO/FILE"):
        hub.pull(bad, tmp_path, endpoint="http://127.0.0.1:9", progress=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_hub_is_a_clear_offline_error(tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(hub.HubUnreachable) as info:
        hub.pull(f"{REPO}/model.gguf", tmp_path / "models", endpoint=endpoint, progress=False)
    message = str(info.value)
    assert message.startswith(f"could not reach the model hub at {endpoint} (connection refused)")
    assert "copy a .gguf file into" in message and "switchyard serve --model PATH" in message
    assert "\n" not in message
    assert not (tmp_path / "models").exists()  # nothing created


def test_file_url_layout(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub.file_url("bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf") == (
        "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf")
