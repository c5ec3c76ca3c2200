"""Export of a sequence-to-sequence task as two files, Optimum's layout: the encoder and one decoder step.

``NAME.onnx`` (the encoder: ``source``, ``source_lengths`` -> ``encoder_outputs``, ``encoder_mask`` and the
decoder's initial state) and ``NAME.decoder.onnx`` (``token``, state, ``encoder_outputs``, ``encoder_mask`` ->
``logits`` and the new state). Both carry ``seqkit.seq2seq`` metadata linking them (file names, vocabularies,
special ids, maximum length, state names). Verification, failing loudly like every export (nothing written):

- the encoder against PyTorch at every verification shape (batch 1, time 1, long, padded, mixed lengths), times
  cut to the metadata's ``max_source_length`` when it gives one (the runtime cuts sources to it; a trained LSTM
  drifted 3.4e-5 from PyTorch in its cell state after 300 steps, beyond the float32 tolerance, on sources 15 times
  longer than any it can be given);
- the decoder step against PyTorch over several steps, fed the PyTorch encoder's outputs and state;
- the whole greedy decode on onnxruntime (:class:`seqkit.runtime.translate.Translator`) equal, token for token, to
  the task's PyTorch greedy decode on the task's example sentences and on random source sentences.

The task supplies the parts through ``seq2seq_parts()`` (:class:`seqkit.core.seq2seq.Seq2SeqParts`).
"""
from __future__ import annotations

import json
import os
import time as _time
from pathlib import Path

import numpy as np
import onnx
import torch

from seqkit.core.compose import Composition, eval_mode
from seqkit.core.seq2seq import Seq2SeqParts
from seqkit.core.task import sample_inputs
from seqkit.errors import ExportError, VerificationError
from seqkit.files import atomic_path
from seqkit.onnx import DEFAULT_OPSET, TRACE_SHAPE
from seqkit.onnx.trace import ExportResult, _prepare_target, _to_onnx
from seqkit.onnx.verify import META_PREFIX, Check, check_file, compare, file_opset, verify_against_torch
from seqkit.runtime.session import open_session
from seqkit.runtime.translate import META_KEY, Translator

#: decoder steps compared one by one; random source sentences decoded greedily besides the task's examples
STEPS, RANDOM_SENTENCES = 6, 8


def decoder_path(output: Path) -> Path:
    return output.with_name(output.name[: -len(".onnx")] + ".decoder.onnx" if output.name.endswith(".onnx")
                            else output.name + ".decoder.onnx")


class _Varargs(torch.nn.Module):
    """``forward(*inputs)``, the form export's dynamic shapes describe."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, *inputs):
        return tuple(self.inner(*inputs))


def _proto(composition: Composition, module, inputs, outputs, args, opset, lowering, provider, meta: dict):
    module = _Varargs(module)
    with eval_mode(module):
        proto = _to_onnx(composition, module, inputs, outputs, args, opset, {}, lowering, provider)
    for prop in list(proto.metadata_props):  # this part's own inputs and outputs, not the training graph's
        if prop.key in (META_PREFIX + "inputs", META_PREFIX + "outputs"):
            proto.metadata_props.remove(prop)
    proto.metadata_props.add(key=META_PREFIX + "inputs", value=json.dumps([s.to_dict() for s in inputs]))
    proto.metadata_props.add(key=META_PREFIX + "outputs", value=json.dumps([s.to_dict() for s in outputs]))
    proto.metadata_props.add(key=META_KEY, value=json.dumps(meta, sort_keys=True))
    return proto


def _args(specs, batch: int, time: int, seed: int = 0) -> tuple:
    arrays = sample_inputs(specs, {"batch": batch, "time": time}, np.random.default_rng(seed))
    return tuple(torch.from_numpy(arrays[s.name]) for s in specs)


def to_onnx_parts(composition: Composition, opset: int = DEFAULT_OPSET, lowering: str = "auto",
                  provider: str = "cpu", encoder_file: str = "model.onnx") -> tuple:
    """``(parts, metadata, encoder proto, decoder-step proto)`` of a sequence-to-sequence composition; nothing is
    written. ``encoder_file``: the encoder's file name, which the metadata records with its decoder's."""
    parts: Seq2SeqParts = composition.task.seq2seq_parts()
    meta = {**parts.metadata, "encoder_file": encoder_file, "decoder_file": decoder_path(Path(encoder_file)).name,
            "state_inputs": parts.state_inputs, "state_outputs": parts.state_outputs,
            "state_from_encoder": parts.state_from_encoder}
    enc = _proto(composition, parts.encoder, parts.encoder_inputs, parts.encoder_outputs,
                 _args(parts.encoder_inputs, *TRACE_SHAPE), opset, lowering, provider, {**meta, "role": "encoder"})
    dec = _proto(composition, parts.decoder, parts.decoder_inputs, parts.decoder_outputs,
                 _args(parts.decoder_inputs, *TRACE_SHAPE), opset, lowering, provider,
                 {**meta, "role": "decoder_step"})
    return parts, meta, enc, dec


def export_seq2seq(composition: Composition, output: str | os.PathLike, *, opset: int, force: bool, verify: bool,
                   provider: str, atol: float | None, rtol: float | None, lowering: str):
    output = Path(output)
    second = decoder_path(output)
    _prepare_target(output, force)
    _prepare_target(second, force)
    start = _time.perf_counter()
    parts, meta, enc, dec = to_onnx_parts(composition, opset, lowering, provider, output.name)
    with atomic_path(output) as tmp_enc, atomic_path(second) as tmp_dec:
        onnx.save(enc, tmp_enc)
        onnx.save(dec, tmp_dec)
        if not verify:
            report = None
            for proto, ins, outs in ((enc, parts.encoder_inputs, parts.encoder_outputs),
                                     (dec, parts.decoder_inputs, parts.decoder_outputs)):
                problems = check_file(proto, ins, outs)
                if problems:
                    raise ExportError(f"the exported file is malformed: {problems[0]}; nothing was written")
        else:
            enc_session, dec_session = open_session(tmp_enc, provider, threads=1), open_session(tmp_dec, provider)
            report = verify_against_torch(parts.encoder, tmp_enc, parts.encoder_inputs, parts.encoder_outputs,
                                          provider=provider, atol=atol, rtol=rtol, session=enc_session,
                                          max_time=meta.get("max_source_length"))
            report.path = str(output)
            translator = Translator(tmp_enc, provider, encoder=enc_session, decoder=dec_session,
                                    metadata={**meta, "role": "encoder"})
            report.checks += verify_steps(parts, translator, report.atol, report.rtol)
            report.checks += verify_greedy(parts, translator, meta)
            if not report.ok:
                raise VerificationError(f"the ONNX encoder/decoder do not match PyTorch ({len(report.failures())} "
                                        f"failures, first: {report.failures()[0]}); nothing was written to "
                                        f"{output}", report)
    return ExportResult(str(output), file_opset(enc), _time.perf_counter() - start, report)


def verify_steps(parts: Seq2SeqParts, translator: Translator, atol: float, rtol: float) -> list[Check]:
    """The decoder step on onnxruntime against PyTorch for :data:`STEPS` steps from the PyTorch encoder's outputs
    on a padded batch of mixed lengths (each step fed PyTorch's previous state and greedy token)."""
    checks = []
    batch, time = 3, 7
    ids, lengths = _args(parts.encoder_inputs, batch, time, seed=7)
    with eval_mode(parts.encoder), eval_mode(parts.decoder), torch.no_grad():
        memory, mask, *state = parts.encoder(ids, lengths)
        tokens = torch.full((batch,), translator.meta["bos_id"], dtype=torch.int64)
        for step in range(STEPS):
            want = parts.decoder(tokens, *state, memory, mask)
            got_logits, got_state = translator.step(tokens.numpy(), [s.numpy() for s in state], memory.numpy(),
                                                    mask.numpy())
            for name, ours, ref in zip(["logits", *parts.state_outputs], [got_logits, *got_state], want):
                max_abs, max_rel, ok, note = compare(ours, ref.numpy(), atol, rtol)
                checks.append(Check(batch, time, f"decoder {name}", max_abs, max_rel, ok,
                                    f"step {step + 1}{' ' + note if note else ''}"))
            tokens, state = want[0].argmax(-1), list(want[1:])
    return checks


def verify_greedy(parts: Seq2SeqParts, translator: Translator, meta: dict) -> list[Check]:
    """Whole greedy decodes, onnxruntime vs PyTorch, token for token (one batch of the examples and random ones,
    and each example alone)."""
    rng = np.random.default_rng(11)
    high = len(meta["source_vocab"])
    randoms = [rng.integers(1, high, size=int(rng.integers(1, 12))) for _ in range(RANDOM_SENTENCES)]
    sources = [np.asarray(s, dtype=np.int64) for s in parts.examples] + randoms
    checks = []
    with eval_mode(parts.encoder), eval_mode(parts.decoder):
        groups = [sources] + [[s] for s in sources[: len(parts.examples)]]
        for group in groups:
            want = parts.greedy(group)
            got = translator.greedy_ids([list(map(int, s)) for s in group])
            wrong = sum(a != b for a, b in zip(got, want))
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
            note = "" if not wrong else f"sentence {first}: onnxruntime {got[first][:12]} vs PyTorch {want[first][:12]}"
            checks.append(Check(len(group), max(len(s) for s in group), "greedy decode",
                                float(wrong), 0.0, wrong == 0, note))
    return checks
