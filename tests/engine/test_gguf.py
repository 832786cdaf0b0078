"""The GGUF metadata reader: the real stories260K model, and files written here with
every value type, arrays big and small, quantized tensor types, v1/v2/v3, big-endian,
split models, and broken files."""

from __future__ import annotations

import re
import struct
import time
from pathlib import Path

import pytest

from switchyard.engine.gguf import find_gguf_files, human_bytes, human_count, read_gguf_info

STORIES = Path(__file__).parents[2].parent / "shared/models/stories260K.gguf"
needs_stories = pytest.mark.skipif(not STORIES.exists(), reason=f"the test model {STORIES} is not here")

# value type ids (ggml docs/gguf.md)
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
_FMT = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", I64: "q", F64: "d"}
# ggml tensor types: id -> (elements per block, bytes per block), written out independently of the reader
T_F32, T_F16, T_Q4_0, T_Q8_0, T_Q4_K, T_Q6_K = 0, 1, 2, 8, 12, 14
_BLOCKS = {T_F32: (1, 4), T_F16: (1, 2), T_Q4_0: (32, 18), T_Q8_0: (32, 34), T_Q4_K: (256, 144), T_Q6_K: (256, 210)}


def write_gguf(path: Path, kv: list[tuple[str, int, object]], tensors: list[tuple[str, tuple[int, ...], int]],
               *, version: int = 3, endian: str = "<", alignment: int = 32) -> Path:
    """A minimal GGUF writer: kv is (key, value type, value), an array value is
    (element type, [items]); tensors are (name, shape, ggml type), data all zeros."""
    n = "I" if version == 1 else "Q"
    out = bytearray(b"GGUF")

    def pack(fmt, *values):
        out.extend(struct.pack(endian + fmt, *values))

    def string(s: str | bytes):
        raw = s.encode() if isinstance(s, str) else s
        pack(n, len(raw))
        out.extend(raw)

    def value(vtype, v):
        if vtype == STR:
            string(v)
        elif vtype == ARR:
            elem, items = v
            pack("I", elem)
            pack(n, len(items))
            for item in items:
                value(elem, item)
        else:
            pack(_FMT[vtype], v)

    pack("I", version)
    pack(n, len(tensors))
    pack(n, len(kv))
    for key, vtype, v in kv:
        string(key)
        pack("I", vtype)
        value(vtype, v)
    offset, sizes = 0, []
    for name, shape, ggml_type in tensors:
        string(name)
        pack("I", len(shape))
        for d in shape:
            pack(n, d)
        pack("I", ggml_type)
        pack("Q", offset)
        count = 1
        for d in shape:
            count *= d
        block, size = _BLOCKS[ggml_type]
        nbytes = count // block * size
        sizes.append(nbytes)
        offset += nbytes + (-nbytes) % alignment
    out.extend(b"\0" * ((-len(out)) % alignment))
    out.extend(b"\0" * offset)
    path.write_bytes(bytes(out))
    return path


def llama_kv(file_type: int | None = None, **extra) -> list[tuple[str, int, object]]:
    kv = [("general.architecture", STR, "llama"), ("general.name", STR, "Tiny Test"),
          ("llama.context_length", U32, 8192), ("llama.block_count", U32, 2),
          ("llama.embedding_length", U32, 256), ("llama.attention.head_count", U32, 8),
          ("llama.attention.head_count_kv", U32, 2)]
    if file_type is not None:
        kv.append(("general.file_type", U32, file_type))
    return kv + [(k, t, v) for k, (t, v) in extra.items()]


def llama_tensors(matrix_type: int) -> list[tuple[str, tuple[int, ...], int]]:
    return [("token_embd.weight", (256, 1000), T_Q6_K if matrix_type == T_Q4_K else matrix_type),
            ("blk.0.attn_norm.weight", (256,), T_F32),
            ("blk.0.attn_q.weight", (256, 256), matrix_type),
            ("blk.0.ffn_up.weight", (256, 512), matrix_type),
            ("blk.1.attn_q.weight", (256, 256), matrix_type),
            ("blk.1.ffn_up.weight", (256, 512), matrix_type),
            ("output_norm.weight", (256,), T_F32)]


PARAMS = 256 * 1000 + 256 + 2 * (256 * 256 + 256 * 512) + 256


@needs_stories
def test_stories260k():
    t0 = time.perf_counter()
    info = read_gguf_info(STORIES)
    assert time.perf_counter() - t0 < 1
    assert info.architecture == "llama"
    assert info.quantization == "F32"
    assert info.vocab_size == 512
    # 260K parameters in the model proper; the file also holds an untied 64x512 output matrix
    assert info.parameters == 292_800
    assert info.parameters - 64 * 512 == 260_032
    assert (info.context_length, info.n_layers, info.n_embd, info.n_head, info.n_head_kv) == (512, 5, 64, 8, 4)
    assert info.head_dim == 8
    assert info.chat_template is None
    assert info.name.startswith("stories260K")
    assert info.size_bytes == STORIES.stat().st_size
    assert info.metadata["general.file_type"] == 0
    assert info.array_lengths["tokenizer.ggml.tokens"] == 512
    assert "tokenizer.ggml.tokens" not in info.metadata  # only scalars there
    assert info.version == 3
    assert info.bits_per_weight == pytest.approx(32.0)
    assert info.bytes_per_token() == sum(t.n_bytes for t in info.tensors)


def test_v3_with_chat_template_arrays_and_q8_0(tmp_path):
    template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
    tokens = [f"tok{i}" for i in range(5000)]
    path = write_gguf(tmp_path / "m.gguf", llama_kv(
        file_type=7,
        **{"tokenizer.chat_template": (STR, template),
           "tokenizer.ggml.tokens": (ARR, (STR, tokens)),
           "tokenizer.ggml.scores": (ARR, (F32, [0.5] * 5000)),
           "llama.rope.freq_factors_small": (ARR, (I32, [1, -2, 3])),
           "general.tags": (ARR, (STR, ["a", "b"]))}), llama_tensors(T_Q8_0))
    info = read_gguf_info(path)
    assert info.chat_template == template
    assert info.quantization == "Q8_0"
    assert info.vocab_size == 5000  # no llama.vocab_size: the token list's length
    assert info.array_lengths == {"tokenizer.ggml.tokens": 5000, "tokenizer.ggml.scores": 5000,
                                  "llama.rope.freq_factors_small": 3, "general.tags": 2}
    assert info.arrays == {"llama.rope.freq_factors_small": [1, -2, 3], "general.tags": ["a", "b"]}
    assert info.parameters == PARAMS
    assert (info.context_length, info.n_layers, info.n_embd, info.n_head, info.n_head_kv) == (8192, 2, 256, 8, 2)
    assert info.head_dim == 32
    assert info.name == "Tiny Test"
    assert info.tensors[2].type_name == "Q8_0" and info.tensors[2].n_bytes == 256 * 256 // 32 * 34
    matrices = [t for t in info.tensors if len(t.shape) == 2]
    assert sum(t.n_bytes for t in matrices) * 8 / sum(t.n_elements for t in matrices) == pytest.approx(8.5)


@pytest.mark.parametrize(("file_type", "name"), [(0, "F32"), (1, "F16"), (2, "Q4_0"), (7, "Q8_0"), (15, "Q4_K_M"),
                                                 (17, "Q5_K_M"), (18, "Q6_K"), (30, "IQ4_XS"), (32, "BF16")])
def test_general_file_type_names_the_quantization(tmp_path, file_type, name):
    path = write_gguf(tmp_path / "m.gguf", llama_kv(file_type=file_type), llama_tensors(T_Q4_0))
    assert read_gguf_info(path).quantization == name


@pytest.mark.parametrize(("matrix_type", "name"), [(T_Q4_0, "Q4_0"), (T_Q8_0, "Q8_0"), (T_F16, "F16"),
                                                   (T_Q4_K, "Q4_K")])
def test_without_file_type_the_dominant_matrix_type_is_used(tmp_path, matrix_type, name):
    # F32 norms never count; the Q6_K embedding (256x1000) holds fewer weights than the Q4_K layers
    path = write_gguf(tmp_path / "m.gguf", llama_kv(), llama_tensors(matrix_type))
    assert read_gguf_info(path).quantization == name


def test_every_value_type_and_nested_arrays(tmp_path):
    kv = [("u8", U8, 255), ("i8", I8, -128), ("u16", U16, 65535), ("i16", I16, -32768),
          ("u32", U32, 2**32 - 1), ("i32", I32, -(2**31)), ("f32", F32, 1.5), ("yes", BOOL, True),
          ("no", BOOL, False), ("s", STR, "héllo"), ("u64", U64, 2**64 - 1), ("i64", I64, -(2**63)),
          ("f64", F64, 3.141592653589793),
          ("nested", ARR, (ARR, [(U8, [1, 2]), (STR, ["x"])])),
          ("big_nested", ARR, (ARR, [(U16, list(range(100)))] * 70)),
          ("big_u64", ARR, (U64, list(range(1000)))), ("empty", ARR, (STR, []))]
    info = read_gguf_info(write_gguf(tmp_path / "m.gguf", kv, []))
    assert info.metadata == {"u8": 255, "i8": -128, "u16": 65535, "i16": -32768, "u32": 2**32 - 1,
                             "i32": -(2**31), "f32": 1.5, "yes": True, "no": False, "s": "héllo",
                             "u64": 2**64 - 1, "i64": -(2**63), "f64": 3.141592653589793}
    assert info.arrays["nested"] == [[1, 2], ["x"]]
    assert info.arrays["empty"] == []
    assert info.array_lengths["big_nested"] == 70 and info.array_lengths["big_u64"] == 1000
    assert info.parameters == 0 and info.architecture is None
    assert info.name == "m"  # no general.name: the file's stem
    assert info.quantization == "unknown"


@pytest.mark.parametrize("version", [1, 2, 3])
def test_versions(tmp_path, version):
    path = write_gguf(tmp_path / "m.gguf", llama_kv(file_type=15), llama_tensors(T_Q4_K), version=version)
    info = read_gguf_info(path)
    assert (info.version, info.quantization, info.parameters, info.n_layers) == (version, "Q4_K_M", PARAMS, 2)


def test_big_endian(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", llama_kv(file_type=2), llama_tensors(T_Q4_0), endian=">")
    info = read_gguf_info(path)
    assert (info.version, info.quantization, info.parameters, info.context_length) == (3, "Q4_0", PARAMS, 8192)


def test_custom_alignment_and_data_offset(tmp_path):
    kv = [*llama_kv(file_type=0), ("general.alignment", U32, 64)]
    info = read_gguf_info(write_gguf(tmp_path / "m.gguf", kv, llama_tensors(T_F32), alignment=64))
    assert info.data_offset % 64 == 0
    assert info.size_bytes == info.data_offset + info.tensors[-1].offset + info.tensors[-1].n_bytes


def test_mixture_of_experts_bytes_per_token(tmp_path):
    kv = [*llama_kv(file_type=7), ("llama.expert_count", U32, 8), ("llama.expert_used_count", U32, 2)]
    tensors = [("token_embd.weight", (256, 1000), T_Q8_0), ("blk.0.ffn_up_exps.weight", (256, 512, 8), T_Q8_0)]
    info = read_gguf_info(write_gguf(tmp_path / "moe.gguf", kv, tensors))
    shared, experts = 256 * 1000 // 32 * 34, 256 * 512 * 8 // 32 * 34
    assert info.bytes_per_token() == shared + experts * 2 // 8


def test_split_models_are_read_whole_and_listed_once(tmp_path):
    for i in (1, 2):
        write_gguf(tmp_path / f"big-0000{i}-of-00002.gguf",
                   [*(llama_kv(file_type=15) if i == 1 else []), ("split.count", U16, 2), ("split.no", U16, i - 1)],
                   llama_tensors(T_Q4_K)[:3] if i == 1 else llama_tensors(T_Q4_K)[3:])
    first = tmp_path / "big-00001-of-00002.gguf"
    info = read_gguf_info(first)
    assert info.parameters == PARAMS
    assert info.size_bytes == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert info.name == "Tiny Test"
    assert find_gguf_files([tmp_path]) == [first]
    (tmp_path / "big-00002-of-00002.gguf").unlink()
    with pytest.raises(ValueError, match=r"missing shard big-00002-of-00002\.gguf"):
        read_gguf_info(first)


def test_find_gguf_files(tmp_path):
    (tmp_path / "a").mkdir()
    write_gguf(tmp_path / "a" / "x.gguf", llama_kv(), [])
    write_gguf(tmp_path / "a" / "y.GGUF", llama_kv(), [])
    (tmp_path / "a" / "notes.txt").write_text("hi")
    (tmp_path / "a" / "x.gguf.part").write_text("partial")
    found = find_gguf_files([tmp_path / "a", tmp_path / "missing", tmp_path / "a" / "x.gguf"])
    assert [p.name for p in found] == ["x.gguf", "y.GGUF"]


@pytest.fixture
def good_file(tmp_path) -> Path:
    return write_gguf(tmp_path / "good.gguf", llama_kv(file_type=7, **{
        "tokenizer.ggml.tokens": (ARR, (STR, [f"t{i}" for i in range(300)])),
        "tokenizer.chat_template": (STR, "x" * 500)}), llama_tensors(T_Q8_0))


def test_every_truncation_is_a_value_error_naming_the_file(good_file, tmp_path):
    data = good_file.read_bytes()
    info = read_gguf_info(good_file)
    cut = tmp_path / "cut.gguf"
    # inside the header, the metadata, the tensor infos, and the tensor data
    for size in [*range(1, 40), *range(40, info.data_offset, 97), info.data_offset, len(data) - 1]:
        cut.write_bytes(data[:size])
        with pytest.raises(ValueError, match=f"^{re.escape(str(cut))}: .*truncated"):
            read_gguf_info(cut)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 a zip file", b"GGML old format", b"\x00" * 100])
def test_not_a_gguf_file(tmp_path, content):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: not a GGUF file"):
        read_gguf_info(path)


def test_corrupt_lengths_and_types(tmp_path):
    path = tmp_path / "bad.gguf"
    # a string claiming to be 2**60 bytes long
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**60) + b"key")
    with pytest.raises(ValueError, match="truncated"):
        read_gguf_info(path)
    # an unknown value type
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 99))
    with pytest.raises(ValueError, match="unknown value type 99"):
        read_gguf_info(path)
    # an unsupported version
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 7, 0, 0))
    with pytest.raises(ValueError, match="unsupported GGUF version 7"):
        read_gguf_info(path)
    # counts that cannot fit in the file
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**40, 2**40))
    with pytest.raises(ValueError, match="corrupt or truncated GGUF header"):
        read_gguf_info(path)


def test_a_large_vocabulary_is_skipped_quickly(tmp_path):
    tokens = [f"token-{i}" for i in range(150_000)]
    path = write_gguf(tmp_path / "vocab.gguf", llama_kv(**{
        "tokenizer.ggml.tokens": (ARR, (STR, tokens)),
        "tokenizer.ggml.token_type": (ARR, (I32, [1] * 150_000))}), llama_tensors(T_Q8_0))
    t0 = time.perf_counter()
    info = read_gguf_info(path)
    assert time.perf_counter() - t0 < 1.0
    assert info.vocab_size == 150_000


def test_human_formats():
    assert human_count(292_800) == "293K"
    assert human_count(8_030_000_000) == "8.03B"
    assert human_count(70_550_000_000) == "70.5B"
    assert human_count(512) == "512"
    assert human_bytes(1_185_472) == "1.13 MiB"
    assert human_bytes(4.58 * 2**30) == "4.58 GiB"
    assert human_bytes(10) == "10 B"
