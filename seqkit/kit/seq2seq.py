"""Encoder-decoder modules built from any cell plugin: attention (additive = Bahdanau et al. 2015, dot = Luong
et al. 2015, or none), the decoder step, the bridge from the encoder's final state to the decoder's first, the
teacher-forced head used in training and the PyTorch greedy decode that the exported pair must reproduce.

Bahdanau's order: the context for output i is computed from the previous decoder state s_{i-1} (its top layer's
hidden state) against the encoder outputs; the decoder cell reads [embedding(y_{i-1}); context]; the logits come
from [s_i; context]. Padded source steps are masked out of the attention (weight exactly 0).
"""
from __future__ import annotations

import torch
from torch import nn

from seqkit.runtime.translate import BOS, EOS

ATTENTIONS = ("additive", "dot", "none")


class Attention(nn.Module):
    def __init__(self, kind: str, query_size: int, memory_size: int, size: int):
        super().__init__()
        self.kind = kind
        if kind == "additive":
            self.query = nn.Linear(query_size, size, bias=False)
            self.key = nn.Linear(memory_size, size)
            self.v = nn.Linear(size, 1, bias=False)
        else:
            self.query = nn.Linear(query_size, memory_size, bias=False)

    def keys(self, memory):
        """What the additive score needs of ``memory`` (the same for every step: training computes it once)."""
        return self.key(memory) if self.kind == "additive" else None

    def forward(self, query, memory, mask, keys=None):
        """``query`` [B, Q], ``memory`` [B, T, M], ``mask`` [B, T] (1 valid, 0 padding) -> context [B, M]."""
        if self.kind == "additive":
            keys = self.key(memory) if keys is None else keys
            scores = self.v(torch.tanh(keys + self.query(query)[:, None, :]))[..., 0]
        else:
            scores = (memory * self.query(query)[:, None, :]).sum(-1)
        scores = torch.where(mask > 0.5, scores, torch.full_like(scores, -1e9))
        weights = torch.softmax(scores, dim=-1)
        return (weights[..., None] * memory).sum(1)


class DecoderStep(nn.Module):
    """One step: ``forward(token [B], *state, memory [B, T, M], mask [B, T]) -> (logits [B, V], *new state)``."""

    def __init__(self, cell_factory, vocab_size: int, embedding_dim: int, memory_size: int, attention: str,
                 attention_size: int, hidden_size: int, state_count: int):
        super().__init__()
        self.state_count = state_count
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        context = memory_size if attention != "none" else 0
        self.attention = Attention(attention, hidden_size, memory_size, attention_size) if context else None
        self.cell = cell_factory(embedding_dim + context, bidirectional=False)
        self.out = nn.Linear(hidden_size + context, vocab_size)

    def forward(self, token, *rest):
        state, memory, mask = tuple(rest[: self.state_count]), rest[self.state_count], rest[self.state_count + 1]
        return self.run(token, state, memory, mask)

    def keys(self, memory):
        return self.attention.keys(memory) if self.attention is not None else None

    def run(self, token, state, memory, mask, keys=None):
        """:meth:`forward` with the attention keys of ``memory`` computed once by the caller (:meth:`keys`)."""
        x = self.embedding(token)
        if self.attention is not None:
            context = self.attention(state[0][-1], memory, mask, keys)
            x = torch.cat([x, context], dim=-1)
        outputs, new_state = self.cell(x[:, None, :], None, state)
        top = outputs[:, 0]
        if self.attention is not None:
            top = torch.cat([top, context], dim=-1)
        return (self.out(top), *new_state)


class Bridge(nn.Module):
    """Encoder final state ``[L * D, B, H]`` (each tensor) -> decoder initial state ``[L, B, H_dec]``."""

    def __init__(self, layers: int, directions: int, hidden: int, decoder_hidden: int, state_count: int):
        super().__init__()
        self.layers, self.directions = layers, directions
        self.proj = nn.ModuleList(nn.Linear(directions * hidden, decoder_hidden) for _ in range(state_count))

    def forward(self, state):
        out = []
        for s, proj in zip(state, self.proj):
            s = s.reshape(self.layers, self.directions, s.shape[1], s.shape[2]).permute(0, 2, 1, 3)
            out.append(torch.tanh(proj(s.reshape(s.shape[0], s.shape[1], -1))))
        return tuple(out)


def source_mask(lengths, time: int):
    return (torch.arange(time, device=lengths.device)[None, :] < lengths[:, None]).float()


class EncoderPart(nn.Module):
    """The exported encoder: ``forward(source, source_lengths) -> (encoder_outputs, encoder_mask, *state0)``."""

    def __init__(self, embedding: nn.Module, cell: nn.Module, bridge: Bridge):
        super().__init__()
        self.embedding, self.cell, self.bridge = embedding, cell, bridge

    def forward(self, source, source_lengths):
        memory, state = self.cell(self.embedding(source), source_lengths, None)
        return (memory, source_mask(source_lengths, source.shape[1]), *self.bridge(state))


class TeacherForcedHead(nn.Module):
    """Training graph's head: the decoder step over ``target_in`` (the reference shifted right) -> logits."""

    uses_inputs = True

    def __init__(self, bridge: Bridge, step: DecoderStep):
        super().__init__()
        self.bridge, self.step = bridge, step

    def forward(self, outputs, state, lengths, source, source_lengths, target_in):
        mask = source_mask(source_lengths, outputs.shape[1])
        state = self.bridge(state)
        keys = self.step.keys(outputs)
        logits = []
        for t in range(target_in.shape[1]):
            logits_t, *state = self.step.run(target_in[:, t], tuple(state), outputs, mask, keys)
            logits.append(logits_t)
        return (torch.stack(logits, dim=1),)


@torch.no_grad()
def greedy(encoder: EncoderPart, step: DecoderStep, sources: list, max_length: int) -> list[list[int]]:
    """PyTorch's greedy decode of a batch of source id arrays (the same loop as seqkit.runtime.translate)."""
    device = next(step.parameters()).device
    lengths = torch.tensor([len(s) for s in sources], dtype=torch.int64, device=device)
    ids = torch.zeros(len(sources), int(lengths.max()), dtype=torch.int64, device=device)
    for row, s in enumerate(sources):
        ids[row, : len(s)] = torch.as_tensor(s, dtype=torch.int64)
    memory, mask, *state = encoder(ids, lengths)
    tokens = torch.full((len(sources),), BOS, dtype=torch.int64, device=device)
    rows = torch.arange(len(sources), device=device)  # finished sentences leave the batch, as in the runtime
    out: list[list[int]] = [[] for _ in sources]
    for _ in range(max_length):
        logits, *state = step(tokens, *state, memory, mask)
        tokens = logits.argmax(-1)
        going = tokens != EOS
        for row, tok in zip(rows[going].tolist(), tokens[going].tolist()):
            out[row].append(tok)
        if not bool(going.all()):
            if not bool(going.any()):
                break
            rows, tokens, memory, mask = rows[going], tokens[going], memory[going], mask[going]
            state = [s[:, going] for s in state]  # [layers, batch, hidden]
    return out
