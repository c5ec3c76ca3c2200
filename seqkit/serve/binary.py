"""The binary tensor data extension of the inference protocol's REST API (Triton's, which KServe documents).

A request whose ``Inference-Header-Content-Length`` header is N carries a JSON header (the usual inference
request) in its first N bytes and, after it, the raw bytes of every input whose ``parameters`` hold
``binary_data_size`` (in input order, no ``data`` field): little-endian values, row-major; a BYTES tensor is each
element as a 4-byte little-endian length and then its bytes. Outputs come back the same way when the request asks:
``parameters: {"binary_data_output": true}`` for all of them (what ``tritonclient`` sends when no outputs are
named), or ``{"binary_data": true}`` on a requested output (which wins over the request-wide one). The response
then has the same header and its outputs' bytes after the JSON.

``tritonclient.http`` uses this by default (``binary_data=True``): a float32 sample of 100 x 8 values is 3,200
bytes instead of ~16,500 characters of JSON numbers that the server parses one by one.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from seqkit.errors import InputError
from seqkit.serve.tensors import NUMPY

HEADER = "inference-header-content-length"


def unpack_bytes(raw: bytes, name: str) -> list[bytes]:
    """A BYTES tensor's elements from their length-prefixed form."""
    out, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise InputError(f"input '{name}': BYTES data ends inside an element's 4-byte length")
        (size,) = struct.unpack_from("<I", raw, at)
        at += 4
        if at + size > len(raw):
            raise InputError(f"input '{name}': a BYTES element of {size} bytes runs past its binary_data_size")
        out.append(bytes(raw[at: at + size]))
        at += size
    return out


def pack_bytes(values) -> bytes:
    parts = []
    for v in values:
        b = v if isinstance(v, (bytes, bytearray)) else str(v).encode("utf-8")
        parts += [struct.pack("<I", len(b)), bytes(b)]
    return b"".join(parts)


def split_request(body: bytes, header_length: str, loads: Callable) -> object:
    """The JSON header of a binary request, each binary input's bytes put in its ``data`` (raw bytes for numbers,
    a list of bytes for BYTES). Every framing problem is an :class:`InputError` of one line."""
    if not header_length.strip().isdigit():
        raise InputError(f"header Inference-Header-Content-Length is {header_length!r}; it must be the JSON "
                         f"header's size in bytes")
    n = int(header_length)
    if n > len(body):
        raise InputError(f"header Inference-Header-Content-Length is {n}, but the body has only {len(body)} bytes")
    request = loads(body[:n])
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        return request  # the request model's validation names what is missing
    blobs, at = memoryview(body)[n:], 0
    for tensor in request["inputs"]:
        params = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(params, dict) or "binary_data_size" not in params:
            continue
        name, size = tensor.get("name", "?"), params.pop("binary_data_size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InputError(f"input '{name}': binary_data_size {size!r} is not a size in bytes")
        if "data" in tensor:
            raise InputError(f"input '{name}' has both data and binary_data_size; send one of them")
        if at + size > len(blobs):
            raise InputError(f"input '{name}': binary_data_size {size} runs past the end of the body "
                             f"({len(blobs) - at} bytes of binary data left)")
        raw = bytes(blobs[at: at + size])
        tensor["data"] = unpack_bytes(raw, name) if tensor.get("datatype") == "BYTES" else raw
        at += size
        if not params:
            del tensor["parameters"]
    if at != len(blobs):
        raise InputError(f"{len(blobs) - at} bytes after the JSON header belong to no input; give each binary "
                         f"input its binary_data_size")
    return request


def binary_outputs(request: object) -> Callable[[str], bool]:
    """Which outputs the request wants as binary data: ``wanted(name) -> bool``."""
    if not isinstance(request, dict):
        return lambda name: False
    params = request.get("parameters")
    everything = bool(params.get("binary_data_output")) if isinstance(params, dict) else False
    own = {}
    for out in request.get("outputs") or []:
        p = out.get("parameters") if isinstance(out, dict) else None
        if isinstance(p, dict) and "binary_data" in p:
            own[out.get("name")] = bool(p["binary_data"])
    return lambda name: own.get(name, everything)


def pack_response(content: dict, wanted: Callable[[str], bool], dumps: Callable) -> tuple[bytes, int] | None:
    """``(body, JSON header size)`` with the wanted outputs' data as bytes after the header; None if none is."""
    blobs = []
    for out in content.get("outputs") or []:
        if not wanted(out.get("name")) or "data" not in out:
            continue
        data, datatype = out.pop("data"), out.get("datatype")
        if datatype == "BYTES":
            raw = pack_bytes(data)
        else:
            raw = np.asarray(data, dtype=np.dtype(NUMPY[datatype]).newbyteorder("<")).tobytes()
        out["parameters"] = {**(out.get("parameters") or {}), "binary_data_size": len(raw)}
        blobs.append(raw)
    if not blobs:
        return None
    header = dumps(content)
    return header + b"".join(blobs), len(header)
