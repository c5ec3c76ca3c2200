"""Greedy vs beam-5 BLEU/chrF of an exported translation model on its run's test split (torch-free decoding).

    .venv/bin/python benchmarks/translate_beam.py RUN_DIR MODEL.onnx
"""
import json
import sys

from seqkit.kit import mt_scores
from seqkit.runtime.translate import Translator
from seqkit.training.trainer import load_run

run, model = sys.argv[1], sys.argv[2]
task = load_run(run).task
test = task.load_data(task.config.train_source, "test")
sources, refs = test.references()
translator = Translator(model, threads=1)
out = {}
for name, beam, penalty in (("greedy", 1, 0.0), ("beam5", 5, 0.0), ("beam5_lp0.6", 5, 0.6)):
    hyps = translator.translate(sources, beam=beam, length_penalty=penalty)
    out[name] = {k: v for k, v in mt_scores.scores(hyps, refs, task.config.target_tokens).items() if k != "signatures"}
print(json.dumps(out))
