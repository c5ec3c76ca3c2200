"""The MLServer runtime of ``seqkit serve``: one exported file, checked and run through ``seqkit.runtime``.

``SeqkitModel`` is an ``mlserver.MLModel``. Its settings' ``parameters.uri`` is the .onnx file and
``parameters.extra`` holds ``provider``, ``threads``, ``max_batch_size``, ``max_batch_time`` and ``max_steps``.
Metadata comes from the file (every input and output with datatype and shape, and task, cell, labels, columns as
parameters).
A request sends either the file's own input tensors (checked like ``Model.run``: names, dtypes, ranks, fixed
dims, lengths, token ids, finite values) or raw samples (see :mod:`seqkit.serve.samples`). Every problem a
client causes is one line, answered with 400.
"""
from __future__ import annotations

import asyncio

from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import (
    InferenceRequest,
    InferenceResponse,
    MetadataModelResponse,
    MetadataTensor,
    Parameters,
    ResponseOutput,
)

from seqkit.errors import InputError, SeqkitError, first_line
from seqkit.runtime.checks import check_feeds
from seqkit.runtime.results import interpret
from seqkit.serve import samples as raw
from seqkit.serve.batching import Batcher
from seqkit.serve.tensors import from_array, model_parameters, tensor_metadata, to_array


class BadRequest(MLServerError):
    """A request the model cannot take: HTTP 400 (gRPC INVALID_ARGUMENT) with one line."""

    def __init__(self, msg: str):
        super().__init__(msg, 400)


def _param(obj, name: str):
    params = getattr(obj, "parameters", None)
    if params is None:
        return None
    value = getattr(params, name, None)
    return value if value is not None else (params.model_extra or {}).get(name)


def _dtype(tensor) -> str:
    return str(getattr(tensor.datatype, "value", tensor.datatype))


class SeqkitModel(MLModel):
    """One seqkit file behind the Open Inference Protocol."""

    async def load(self) -> bool:
        from seqkit.runtime import load

        params = self.settings.parameters
        extra = dict(params.extra or {}) if params is not None else {}
        self.model = load(params.uri if params is not None else "", provider=extra.get("provider", "cpu"),
                          threads=int(extra.get("threads") or 0) or None)
        self.batcher = Batcher(self.model, int(extra.get("max_batch_size", 64)),
                               float(extra.get("max_batch_time", 0.0)))
        self.max_steps = int(extra.get("max_steps", 0))
        self.inputs = [MetadataTensor(**tensor_metadata(s)) for s in self.model.inputs]
        self.outputs = [MetadataTensor(**tensor_metadata(s)) for s in self.model.outputs]
        return True

    async def unload(self) -> bool:
        self.batcher.close()
        return True

    async def metadata(self) -> MetadataModelResponse:
        meta = await super().metadata()
        meta.platform = "seqkit-onnxruntime"
        meta.parameters = Parameters(**model_parameters(self.model))
        return meta

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        try:
            names = [i.name for i in payload.inputs]
            if raw.INPUT in names and raw.INPUT not in {s.name for s in self.model.inputs}:
                outputs = await self._samples(payload)
            else:
                outputs = await self._tensors(payload)
        except SeqkitError as exc:
            raise BadRequest(f"model '{self.name}': {first_line(exc)}") from None
        return InferenceResponse(model_name=self.name, outputs=[ResponseOutput(**o) for o in outputs])

    def _check_steps(self, feeds: dict) -> None:
        if not self.max_steps:
            return
        for spec in self.model.inputs:
            t = spec.axis("time")
            if t is not None and spec.name in feeds and feeds[spec.name].ndim > t \
                    and feeds[spec.name].shape[t] > self.max_steps:
                raise InputError(f"input '{spec.name}': {feeds[spec.name].shape[t]} steps, over this server's "
                                 f"limit of {self.max_steps} (seqkit serve --max-steps)")

    async def _tensors(self, payload: InferenceRequest) -> list[dict]:
        feeds = {}
        for tensor in payload.inputs:
            if tensor.name in feeds:
                raise InputError(f"input '{tensor.name}' is sent twice")
            feeds[tensor.name] = to_array(tensor.name, _dtype(tensor), tensor.shape,
                                          getattr(tensor.data, "root", tensor.data))
        self._check_steps(feeds)
        checked = check_feeds(self.model.inputs, feeds)
        values = await self.batcher.run(checked)
        wanted = [o.name for o in payload.outputs] if payload.outputs else list(values)
        unknown = [n for n in wanted if n not in values]
        if unknown:
            raise InputError(f"output '{unknown[0]}' is not an output of this model; it has {', '.join(values)}")
        return [from_array(name, values[name]) for name in wanted]

    async def _samples(self, payload: InferenceRequest) -> list[dict]:
        if len(payload.inputs) != 1:
            raise InputError(f"input '{raw.INPUT}' carries raw samples and comes alone; "
                             f"got {', '.join(i.name for i in payload.inputs)}")
        tensor = payload.inputs[0]
        if _dtype(tensor) != "BYTES":
            raise InputError(f"input '{raw.INPUT}': datatype {_dtype(tensor)}; raw samples are BYTES")
        kind = _param(tensor, "content_type") or _param(payload, "content_type")
        items = raw.decode(list(getattr(tensor.data, "root", tensor.data)), kind, self.model)
        names = [f"sample {i}" for i in range(len(items))]
        encoded = [self.model.encode(s, names[i]) for i, s in enumerate(items)]
        for e in encoded:
            self._check_steps({k: v[None] for k, v in e.items()})
        feeds = [self.model.batch([e]) for e in encoded]  # one queued request per sample: batched together
        values = await asyncio.gather(*[self.batcher.run(check_feeds(self.model.inputs, f, [names[i]]))
                                        for i, f in enumerate(feeds)])
        lengths = [f.get(self.model.lengths.name) if self.model.lengths is not None else None for f in feeds]
        results = [interpret(self.model.outputs, v, n, self.model.task_metadata)[0] for v, n in zip(values, lengths)]
        return [raw.encode_results(results)]
