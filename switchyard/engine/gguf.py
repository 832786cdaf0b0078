"""Read a GGUF file's header, key/value metadata and tensor infos — never its weights.

GGUF (ggml's docs/gguf.md) is little-endian by default and laid out as:

    magic        4 bytes  b"GGUF"
    version      uint32   1, 2 or 3 (v1 used uint32 for counts and string lengths, v2+ uint64)
    tensor_count uint64
    kv_count     uint64
    kv_count     x (key: string, value_type: uint32, value)
    tensor_count x (name: string, n_dims: uint32, dims: uint64[n_dims], ggml_type: uint32, offset: uint64)
    padding to general.alignment (default 32), then the tensor data

A string is a uint64 length and that many UTF-8 bytes; an array is an element
value_type (uint32), a uint64 length and the elements. Large arrays (the
tokenizer's 32k-256k tokens, scores and merges) are skipped by seeking, only
their length is kept: a multi-GB model's info is read in about 0.1 s.

Files written on big-endian machines are detected by the byte-swapped version
and read as such. Split models (`name-00001-of-00003.gguf`, `split.count` > 1)
are read from their first shard; the other shards' tensor infos are read too
so that `parameters` and `size_bytes` cover the whole model.
"""

from __future__ import annotations

import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
SMALL_ARRAY = 64  # arrays up to this many elements are kept in GGUFInfo.arrays
_CHUNK = 1 << 20

# GGUF value types: id -> (name, struct format or None for string/array)
VALUE_TYPES: dict[int, tuple[str, str | None]] = {
    0: ("UINT8", "B"), 1: ("INT8", "b"), 2: ("UINT16", "H"), 3: ("INT16", "h"),
    4: ("UINT32", "I"), 5: ("INT32", "i"), 6: ("FLOAT32", "f"), 7: ("BOOL", "?"),
    8: ("STRING", None), 9: ("ARRAY", None), 10: ("UINT64", "Q"), 11: ("INT64", "q"),
    12: ("FLOAT64", "d"),
}
STRING, ARRAY = 8, 9

# ggml tensor types: id -> (name, elements per block, bytes per block)
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18), 42: ("Q2_0", 64, 18),
}

# llama.cpp's llama_ftype, stored as general.file_type: the quantization "mix" of the file.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS",
    24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS",
    31: "IQ1_M", 32: "BF16", 33: "Q4_0_4_4", 34: "Q4_0_4_8", 35: "Q4_0_8_8", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0", 41: "Q2_0",
}

_SPLIT_NAME = re.compile(r"^(?P<stem>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the tensor data

    @property
    def type_name(self) -> str:
        known = GGML_TYPES.get(self.ggml_type)
        return known[0] if known else f"type{self.ggml_type}"

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def n_bytes(self) -> int | None:
        """Size of the tensor's data, None for a ggml type this reader does not know."""
        known = GGML_TYPES.get(self.ggml_type)
        if known is None:
            return None
        _, block, size = known
        return self.n_elements // block * size


@dataclass
class GGUFInfo:
    path: Path
    size_bytes: int
    architecture: str | None
    name: str
    parameters: int
    quantization: str
    context_length: int | None
    n_layers: int | None
    n_embd: int | None
    n_head: int | None
    n_head_kv: int | None
    vocab_size: int | None
    chat_template: str | None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)  # scalar keys only
    version: int = 3
    arrays: dict[str, list] = field(default_factory=dict, repr=False)  # arrays of <= SMALL_ARRAY items
    array_lengths: dict[str, int] = field(default_factory=dict, repr=False)  # every array's length
    tensors: list[TensorInfo] = field(default_factory=list, repr=False)
    data_offset: int = 0  # where the tensor data starts in the (first) file
    shards: list[Path] = field(default_factory=list, repr=False)

    @property
    def file_type(self) -> int | None:
        value = self.metadata.get("general.file_type")
        return value if isinstance(value, int) else None

    @property
    def head_dim(self) -> int | None:
        key_length = self.metadata.get(f"{self.architecture}.attention.key_length")
        if isinstance(key_length, int) and key_length > 0:
            return key_length
        if self.n_embd and self.n_head:
            return self.n_embd // self.n_head
        return None

    @property
    def bits_per_weight(self) -> float | None:
        """Average bits per parameter of the tensor data."""
        sizes = [t.n_bytes for t in self.tensors]
        if not self.parameters or any(s is None for s in sizes):
            return None
        return sum(sizes) * 8 / self.parameters  # type: ignore[arg-type]

    @property
    def expert_count(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.expert_count")
        return value if isinstance(value, int) and value > 0 else None

    @property
    def expert_used_count(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.expert_used_count")
        return value if isinstance(value, int) and value > 0 else None

    def bytes_per_token(self) -> int:
        """Weight bytes read to decode one token: all of them for a dense model; for a
        mixture of experts, the shared tensors plus expert_used/expert_count of the
        expert tensors (named *_exps)."""
        sizes = [(t.name, t.n_bytes) for t in self.tensors]
        if not sizes or any(s is None for _, s in sizes):
            return self.size_bytes
        total = sum(s for _, s in sizes)  # type: ignore[misc]
        n_exp, n_used = self.expert_count, self.expert_used_count
        if not n_exp or not n_used:
            return total
        experts = sum(s for n, s in sizes if "_exps" in n)  # type: ignore[misc]
        return int(total - experts + experts * n_used / n_exp)


class _Reader:
    """A forward reader with its own buffer: cheap small reads, seeks for skipped data."""

    def __init__(self, f: BinaryIO, size: int, path: Path, endian: str = "<"):
        self.f, self.size, self.path, self.endian = f, size, path, endian
        self.buf = b""
        self.pos = 0  # position in buf
        self.base = 0  # file offset of buf[0]
        self.len_fmt = "Q"
        self._structs: dict[str, struct.Struct] = {}

    def tell(self) -> int:
        return self.base + self.pos

    def truncated(self, what: str) -> ValueError:
        return ValueError(f"{self.path}: truncated GGUF file ({self.size} bytes): ends inside {what}")

    def _need(self, n: int, what: str) -> None:
        have = len(self.buf) - self.pos
        if have >= n:
            return
        if self.tell() + n > self.size:
            raise self.truncated(what)
        rest = self.buf[self.pos:]
        self.base += self.pos
        self.f.seek(self.base + len(rest))
        more = self.f.read(max(n - len(rest), _CHUNK))
        self.buf = rest + more
        self.pos = 0
        if len(self.buf) < n:
            raise self.truncated(what)

    def read(self, n: int, what: str) -> bytes:
        self._need(n, what)
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> Any:
        s = self._structs.get(fmt)
        if s is None:
            s = self._structs[fmt] = struct.Struct(self.endian + fmt)
        self._need(s.size, what)
        (value,) = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return value

    def skip(self, n: int, what: str) -> None:
        if n < 0 or self.tell() + n > self.size:
            raise self.truncated(what)
        if self.pos + n <= len(self.buf):
            self.pos += n
        else:
            self.base = self.tell() + n
            self.buf, self.pos = b"", 0

    def length(self, what: str) -> int:
        n = self.unpack(self.len_fmt, what)
        if n > self.size - self.tell():
            raise self.truncated(what)
        return n

    def string(self, what: str) -> str:
        return self.read(self.length(what), what).decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        self.skip(self.length(what), what)

    def skip_strings(self, count: int, what: str) -> None:
        """Skip `count` strings: a tight loop over the buffer (a 256k-token vocabulary
        takes tens of milliseconds), the careful path for a string crossing its end."""
        length = struct.Struct(self.endian + self.len_fmt)
        unpack_from, size = length.unpack_from, length.size
        while count:
            buf, pos, end = self.buf, self.pos, len(self.buf)
            while count and pos + size <= end:
                nxt = pos + size + unpack_from(buf, pos)[0]
                if nxt > end:
                    break
                pos = nxt
                count -= 1
            self.pos = pos
            if count:
                self.skip_string(what)
                count -= 1


def read_gguf_info(path: str | os.PathLike) -> GGUFInfo:
    """Read a GGUF file's metadata and tensor infos. ValueError (naming the file) when
    it is not a GGUF file or is truncated; OSError when it cannot be read."""
    path = Path(path)
    info = _read_one(path)
    split_count = info.metadata.get("split.count")
    if isinstance(split_count, int) and split_count > 1:
        _add_shards(info, split_count)
    return info


def _read_one(path: Path) -> GGUFInfo:
    size = path.stat().st_size
    with open(path, "rb") as f:
        r = _Reader(f, size, path)
        magic = f.read(4)
        if magic != GGUF_MAGIC:
            if len(magic) < 4 and GGUF_MAGIC.startswith(magic) and magic:
                raise r.truncated("the header")
            raise ValueError(f"{path}: not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})")
        r.base = 4
        version = r.unpack("I", "the header")
        if not 1 <= version <= 3:
            swapped = struct.unpack(">I", struct.pack("<I", version))[0]
            if not 1 <= swapped <= 3:
                raise ValueError(f"{path}: unsupported GGUF version {version}")
            r.endian, version = ">", swapped
            r._structs.clear()
        if version == 1:
            r.len_fmt = "I"
        n_tensors = r.unpack(r.len_fmt, "the header")
        n_kv = r.unpack(r.len_fmt, "the header")
        # Every kv takes at least 13 bytes and every tensor info at least 24.
        if n_kv * 13 + n_tensors * 24 > size:
            raise ValueError(f"{path}: corrupt or truncated GGUF header ({n_kv} keys and {n_tensors} "
                             f"tensors cannot fit in {size} bytes)")

        metadata: dict[str, Any] = {}
        arrays: dict[str, list] = {}
        lengths: dict[str, int] = {}
        for i in range(n_kv):
            key = r.string(f"metadata key #{i}")
            vtype = r.unpack("I", f"metadata {key!r}")
            if vtype == ARRAY:
                elem_type = r.unpack("I", f"metadata {key!r}")
                count = r.unpack(r.len_fmt, f"metadata {key!r}")
                lengths[key] = count
                if count <= SMALL_ARRAY:
                    arrays[key] = [_value(r, elem_type, key) for _ in range(count)]
                else:
                    _skip_array(r, elem_type, count, key)
            else:
                metadata[key] = _value(r, vtype, key)

        tensors: list[TensorInfo] = []
        for i in range(n_tensors):
            name = r.string(f"tensor info #{i}")
            n_dims = r.unpack("I", f"tensor info {name!r}")
            if n_dims > 8:
                raise ValueError(f"{path}: corrupt GGUF tensor info {name!r}: {n_dims} dimensions")
            shape = tuple(r.unpack(r.len_fmt, f"tensor info {name!r}") for _ in range(n_dims))
            ggml_type = r.unpack("I", f"tensor info {name!r}")
            offset = r.unpack("Q", f"tensor info {name!r}")
            tensors.append(TensorInfo(name, shape, ggml_type, offset))

        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0:
            alignment = DEFAULT_ALIGNMENT
        end = r.tell()
        data_offset = end + (-end) % alignment
        data_end = max((t.offset + (t.n_bytes or 0) for t in tensors), default=0)
        if tensors and data_offset + data_end > size:
            raise ValueError(f"{path}: truncated GGUF file: the tensor data needs {data_offset + data_end} "
                             f"bytes, the file has {size}")

    return _build(path, size, version, metadata, arrays, lengths, tensors, data_offset)


def _value(r: _Reader, vtype: int, key: str) -> Any:
    if vtype == STRING:
        return r.string(f"metadata {key!r}")
    if vtype == ARRAY:
        elem_type = r.unpack("I", f"metadata {key!r}")
        count = r.unpack(r.len_fmt, f"metadata {key!r}")
        if count > SMALL_ARRAY:
            _skip_array(r, elem_type, count, key)
            return []
        return [_value(r, elem_type, key) for _ in range(count)]
    known = VALUE_TYPES.get(vtype)
    if known is None:
        raise ValueError(f"{r.path}: corrupt GGUF metadata {key!r}: unknown value type {vtype}")
    return r.unpack(known[1], f"metadata {key!r}")  # type: ignore[arg-type]


def _skip_array(r: _Reader, elem_type: int, count: int, key: str) -> None:
    what = f"metadata {key!r}"
    if elem_type == STRING:
        r.skip_strings(count, what)
    elif elem_type == ARRAY:
        for _ in range(count):
            _value(r, ARRAY, key)
    else:
        known = VALUE_TYPES.get(elem_type)
        if known is None:
            raise ValueError(f"{r.path}: corrupt GGUF metadata {key!r}: unknown array element type {elem_type}")
        r.skip(count * struct.calcsize(known[1]), what)  # type: ignore[arg-type]


def _int(metadata: dict[str, Any], arrays: dict[str, list], key: str) -> int | None:
    value = metadata.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    per_layer = [v for v in arrays.get(key, []) if isinstance(v, int)]  # e.g. per-layer head counts
    return max(per_layer) if per_layer else None


def _build(path: Path, size: int, version: int, metadata: dict[str, Any], arrays: dict[str, list],
           lengths: dict[str, int], tensors: list[TensorInfo], data_offset: int) -> GGUFInfo:
    arch = metadata.get("general.architecture")
    arch = arch if isinstance(arch, str) else None
    name = metadata.get("general.name")
    if not isinstance(name, str) or not name.strip():
        split = _SPLIT_NAME.match(path.name)
        name = split.group("stem") if split else path.stem
    n_head = _int(metadata, arrays, f"{arch}.attention.head_count")
    n_head_kv = _int(metadata, arrays, f"{arch}.attention.head_count_kv") or n_head
    vocab = _int(metadata, arrays, f"{arch}.vocab_size") or lengths.get("tokenizer.ggml.tokens")
    template = metadata.get("tokenizer.chat_template")
    return GGUFInfo(
        path=path, size_bytes=size, architecture=arch, name=name.strip(),
        parameters=sum(t.n_elements for t in tensors),
        quantization=_quantization(metadata, tensors),
        context_length=_int(metadata, arrays, f"{arch}.context_length"),
        n_layers=_int(metadata, arrays, f"{arch}.block_count"),
        n_embd=_int(metadata, arrays, f"{arch}.embedding_length"),
        n_head=n_head, n_head_kv=n_head_kv, vocab_size=vocab,
        chat_template=template if isinstance(template, str) else None,
        metadata=metadata, version=version, arrays=arrays, array_lengths=lengths, tensors=tensors,
        data_offset=data_offset, shards=[path])


def _quantization(metadata: dict[str, Any], tensors: list[TensorInfo]) -> str:
    file_type = metadata.get("general.file_type")
    if isinstance(file_type, int) and file_type in FILE_TYPES:
        return FILE_TYPES[file_type]
    return dominant_type(tensors) or "unknown"


def dominant_type(tensors: list[TensorInfo]) -> str | None:
    """The ggml type holding most weights among the matrices (1-d norms and biases
    stay F32 in every quantization, so they are left out unless there is nothing else)."""
    matrices = [t for t in tensors if len([d for d in t.shape if d > 1]) >= 2] or tensors
    counts: Counter[str] = Counter()
    for t in matrices:
        counts[t.type_name] += t.n_elements
    return counts.most_common(1)[0][0] if counts else None


def _add_shards(info: GGUFInfo, count: int) -> None:
    m = _SPLIT_NAME.match(info.path.name)
    if not m or int(m.group("index")) != 1:
        return
    for index in range(2, count + 1):
        shard = info.path.with_name(f"{m.group('stem')}-{index:05d}-of-{count:05d}.gguf")
        if not shard.exists():
            raise ValueError(f"{info.path}: split GGUF model is missing shard {shard.name}")
        other = _read_one(shard)
        info.size_bytes += other.size_bytes
        info.parameters += other.parameters
        info.tensors.extend(other.tensors)
        info.shards.append(shard)
    if not isinstance(info.metadata.get("general.file_type"), int):
        info.quantization = dominant_type(info.tensors) or info.quantization


def is_secondary_shard(path: str | os.PathLike) -> bool:
    """`x-00002-of-00003.gguf`: part of a split model listed under its first shard."""
    m = _SPLIT_NAME.match(Path(path).name)
    return bool(m) and int(m.group("index")) > 1


def find_gguf_files(dirs: list[Path]) -> list[Path]:
    """The .gguf files directly in each of `dirs` (missing dirs are skipped), without the
    secondary shards of split models, each file once, in order."""
    seen: set[Path] = set()
    found: list[Path] = []
    for d in dirs:
        d = Path(d).expanduser()
        if d.is_file():
            candidates = [d]
        elif d.is_dir():
            candidates = sorted(p for p in d.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
        else:
            continue
        for p in candidates:
            key = p.resolve()
            if key in seen or is_secondary_shard(p):
                continue
            seen.add(key)
            found.append(p)
    return found


def human_count(n: int | None) -> str:
    """292.9K, 1.24B."""
    if n is None:
        return "-"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(n)


def human_bytes(n: int | float | None) -> str:
    """Binary units: 1.1 MiB, 4.58 GiB."""
    if n is None:
        return "-"
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n)} B"
