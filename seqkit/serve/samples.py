"""Raw samples in a request: what ``seqkit.runtime``'s ``predict`` takes, sent as one BYTES tensor.

A request asks for raw samples by sending ONE input named ``samples`` (datatype ``BYTES``, shape ``[n]``) whose
``content_type`` parameter (on the input, or on the request) says what each element is:

- ``text``: a text (models with a tokenizer);
- ``json``: one JSON document per sample, as a line of a ``seqkit predict`` .jsonl file: a text, a list of
  token strings or ids, a nested list of numbers ``[time, features...]``, or ``{input name: value}``;
- ``wav``: the bytes of a 16 kHz PCM WAV file (base64 text in JSON/REST, raw bytes over gRPC).

The answer is one output ``results`` (``BYTES [n]``, content type ``json``): each element the JSON text of the
readable result ``Model.predict`` gives for that sample.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from seqkit.errors import InputError, SeqkitError

INPUT = "samples"
OUTPUT = "results"
CONTENT_TYPES = ("text", "json", "wav")


def _text(value: Any, i: int) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"input '{INPUT}' sample {i}: not UTF-8 text") from None
    if not isinstance(value, str):
        raise InputError(f"input '{INPUT}' sample {i}: a {type(value).__name__}; each element is a string")
    return value


def _wav_bytes(value: Any, i: int) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return base64.b64decode(_text(value, i), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"input '{INPUT}' sample {i}: not base64 text; WAV bytes travel base64-encoded in "
                         f"JSON") from None


def decode(data: list, content_type: str | None, model) -> list:
    """The elements of a ``samples`` tensor as raw samples for ``model`` (a :class:`seqkit.runtime.Model`)."""
    kind = content_type or "json"
    if kind not in CONTENT_TYPES:
        raise InputError(f"input '{INPUT}': content_type {kind!r}; use one of {', '.join(CONTENT_TYPES)}")
    if not data:
        raise InputError(f"input '{INPUT}' is empty; send at least one sample")
    out = []
    for i, value in enumerate(data):
        if kind == "text":
            out.append(_text(value, i))
        elif kind == "json":
            try:
                out.append(json.loads(_text(value, i), parse_constant=_refuse))
            except ValueError as exc:
                raise InputError(f"input '{INPUT}' sample {i}: not JSON ({exc})") from None
        else:
            out.append(wav_frames(_wav_bytes(value, i), i, model))
    return out


def _refuse(name: str):
    raise ValueError(f"{name} is not a number a sample may hold")


def wav_frames(data: bytes, i: int, model) -> np.ndarray:
    """Log-mel frames of WAV bytes, with the front end the file records."""
    from seqkit.runtime.audio import log_mel, read_wav

    fe = model.encoder.front_end
    if fe is None:
        raise InputError(f"input '{INPUT}' sample {i}: WAV bytes, but this model has no audio front end; it takes "
                         f"{model.describe_sample()}")
    try:
        return log_mel(read_wav(data, fe.sample_rate), fe)
    except SeqkitError as exc:  # "WAV bytes: <why>; convert it with sox ..." -> <why>
        why = str(exc).split(";")[0].replace("WAV bytes: ", "").replace(" ()", "")
        raise InputError(f"input '{INPUT}' sample {i}: WAV bytes: {why}") from None


def encode_results(results: list[dict]) -> dict:
    """Readable results as the ``results`` output tensor."""
    return {"name": OUTPUT, "datatype": "BYTES", "shape": [len(results)],
            "parameters": {"content_type": "json"}, "data": [json.dumps(r) for r in results]}
