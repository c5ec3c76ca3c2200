"""Text generation from an exported ``language-model`` file, step by step, in numpy and onnxruntime only.

The file takes ``tokens`` and the recurrent state (``h0``, and ``c0`` for an LSTM) and returns ``logits`` and the
final state (``hn``, ``cn``); its metadata names them (``seqkit.task_metadata`` -> ``streaming``) and carries the
vocabulary. :class:`CharStream` holds the state between calls: the prompt goes in as one call (a chunk of any
length), then every sampled character is fed back alone, carrying the state -- nothing is recomputed.
Sampling uses :mod:`seqkit.runtime.rng` (mulberry32 and an inverse-CDF draw, defined so that ``js/rng.mjs`` draws
the same numbers): the same file, prompt, temperature and seed give the same text here, in onnxruntime-node and in
a browser (``js/``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqkit.errors import SeqkitError
from seqkit.runtime.rng import Mulberry32, sample
from seqkit.runtime.session import open_session


class CharStream:
    """A streaming session over a character language model: ``feed(text)`` -> next-character logits."""

    def __init__(self, model: str | Path, provider: str = "cpu"):
        path = Path(model)
        if not path.is_file():
            raise SeqkitError(f"{path} does not exist; give an ONNX file written by 'seqkit export' of a "
                              f"language-model run")
        self.session = open_session(str(path), provider)
        meta = self.session.session.get_modelmeta().custom_metadata_map
        try:
            task = json.loads(meta["seqkit.task"])
            info = json.loads(meta["seqkit.task_metadata"])
            specs = {s["name"]: s for s in json.loads(meta["seqkit.inputs"])}
        except (KeyError, ValueError):
            raise SeqkitError(f"{path} has no seqkit metadata; export a language-model run with "
                              f"'seqkit export RUN'") from None
        if "streaming" not in info or "vocab" not in info:
            raise SeqkitError(f"{path} is a '{task}' model, not a streaming language model; train one with "
                              f"'seqkit train --task language-model'")
        self.vocab: list[str] = list(info["vocab"])
        self.index = {ch: i + 1 for i, ch in enumerate(self.vocab)}
        self.unknown = int(info.get("unknown_id", 0))
        if "seqkit.streaming" in meta:  # the one state schema every streaming file has (seqkit >= 0.2)
            pairs = [(d["input"], d["output"]) for d in json.loads(meta["seqkit.streaming"])["state"]]
        else:  # a file from before: the language model's own description of its state
            pairs = list(zip(info["streaming"]["state_inputs"], info["streaming"]["state_outputs"]))
        self.state_inputs, self.state_outputs = [i for i, _ in pairs], [o for _, o in pairs]
        self.state_shapes = {n: tuple(specs[n]["shape"]) for n in self.state_inputs}
        self.output_names = [o.name for o in self.session.session.get_outputs()]
        self.reset()

    def reset(self) -> None:
        """Back to the start of a text: zero state."""
        self.state = {n: np.zeros([1 if a == "batch" else a for a in shape], np.float32)
                      for n, shape in self.state_shapes.items()}

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index.get(ch, self.unknown) for ch in text], dtype=np.int64)

    def feed(self, text: str) -> np.ndarray:
        """Run ``text`` (one or more characters) from the current state; return the logits after its last
        character ``[vocab]`` and keep the final state for the next call."""
        if not text:
            raise SeqkitError("nothing to feed: the text is empty")
        outputs = self.session.session.run(None, {"tokens": self.encode(text)[None], **self.state})
        named = dict(zip(self.output_names, outputs))
        self.state = {i: named[o] for i, o in zip(self.state_inputs, self.state_outputs)}
        return named["logits"][0, -1]


def generate(model: str | Path, prompt: str = "", length: int = 200, temperature: float = 0.8, seed: int = 0,
             provider: str = "cpu") -> str:
    """``prompt`` followed by ``length`` sampled characters. An empty prompt starts after a newline (the
    fortunes end each quote with one)."""
    if length < 0:
        raise SeqkitError(f"length must be >= 0, got {length}")
    if temperature < 0:
        raise SeqkitError(f"temperature must be >= 0 (0: always the most likely character), got {temperature}")
    stream = CharStream(model, provider)
    rng = Mulberry32(seed)
    logits = stream.feed(prompt or "\n")
    out = []
    for _ in range(length):
        ch = stream.vocab[sample(logits, temperature, rng, banned=stream.unknown) - 1]
        out.append(ch)
        logits = stream.feed(ch)
    return prompt + "".join(out)
