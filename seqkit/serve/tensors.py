"""Open Inference Protocol tensors <-> numpy arrays, and an exported file's metadata as protocol metadata.

A request tensor is ``{"name", "datatype", "shape", "data"}`` with ``data`` flat (row-major) or nested; the
datatypes a seqkit file takes are FP32 and INT64 (FP64 and INT32 are accepted and converted losslessly by
:func:`seqkit.runtime.check_feeds`, as ``seqkit.runtime`` does). Every problem is an :class:`InputError` naming
the input, so the server answers 400 with that line.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqkit.errors import InputError

#: protocol datatype -> numpy dtype (what a client may send; check_feeds converts or refuses per input)
NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "FP16": np.float16,
         "INT8": np.int8, "INT16": np.int16, "UINT8": np.uint8, "BOOL": np.bool_}
#: seqkit spec dtype -> protocol datatype
DATATYPES = {"float32": "FP32", "int64": "INT64"}


def to_array(name: str, datatype: str, shape: Sequence[int], data: Any) -> np.ndarray:
    """One request tensor as a numpy array of its declared datatype and shape."""
    if datatype not in NUMPY:
        raise InputError(f"input '{name}': datatype {datatype} cannot be a model input; send FP32 or INT64")
    shape = [int(s) for s in shape]
    if any(s < 0 for s in shape):
        raise InputError(f"input '{name}': shape {shape} has a negative size")
    try:
        if isinstance(data, (bytes, bytearray)):  # raw little-endian bytes (REST binary data, gRPC raw contents)
            dtype = np.dtype(NUMPY[datatype]).newbyteorder("<")
            if len(data) % dtype.itemsize:
                raise InputError(f"input '{name}': {len(data)} bytes of binary data are not a whole number of "
                                 f"{datatype} values ({dtype.itemsize} bytes each)")
            arr = np.frombuffer(bytes(data), dtype=dtype)
        else:  # nested or flat lists of numbers; None, text and ragged lists are refused
            arr = np.asarray(data, dtype=NUMPY[datatype] if datatype != "FP32" else np.float64).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"input '{name}': data is not a regular list of {datatype} numbers") from None
    if datatype == "FP32":
        with np.errstate(over="ignore"):
            arr = arr.astype(np.float32)
    if arr.size != math.prod(shape):
        raise InputError(f"input '{name}': {arr.size} values for shape {shape} ({math.prod(shape)} values)")
    return arr.reshape(shape)


def from_array(name: str, arr: np.ndarray) -> dict:
    """An output array as a protocol tensor (flat data)."""
    arr = np.asarray(arr)
    datatype = DATATYPES.get(arr.dtype.name, "FP32" if arr.dtype.kind == "f" else "INT64")
    values = arr.astype(NUMPY[datatype]).reshape(-1).tolist()
    return {"name": name, "datatype": datatype, "shape": list(arr.shape), "data": values}


def shape_for_protocol(shape: Sequence) -> list[int]:
    """Named (dynamic) axes as -1, fixed ones as they are."""
    return [int(a) if isinstance(a, int) else -1 for a in shape]


def tensor_metadata(spec) -> dict:
    """One input or output of a file as protocol metadata, its seqkit kind and named axes as parameters."""
    params = {"kind": spec.kind, "axes": json.dumps(list(spec.shape))}
    if spec.high is not None:
        params["high"] = int(spec.high)
    if spec.description:
        params["description"] = spec.description
    return {"name": spec.name, "datatype": DATATYPES.get(spec.dtype, "FP32"),
            "shape": shape_for_protocol(spec.shape), "parameters": params}


def model_parameters(model) -> dict:
    """Model-level metadata parameters (strings or numbers: gRPC parameters hold nothing else)."""
    meta = model.task_metadata
    params: dict[str, Any] = {"task": model.task, "cell": model.cell, "labels": json.dumps(model.labels),
                              "columns": json.dumps([str(c) for c in meta.get("columns") or []]),
                              "streaming": json.dumps(model.streaming) if model.streaming else "",
                              "sample": model.describe_sample()}
    return params
