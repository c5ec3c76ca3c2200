"""Greedy vs beam-5 BLEU/chrF of an exported translation model on its run's test split (torch-free decoding).

    .venv/bin/python benchmarks/translate_beam.py RUN_DIR MODEL.onnx
"""
import json
import sys

from seqkit.builtin.tasks.translation import TranslationTask
from seqkit.kit import mt_scores
from seqkit.runtime.translate import Translator
from seqkit.training.runs import read_json

run, model = sys.argv[1], sys.argv[2]
config = read_json(__import__("pathlib").Path(run), "config.json")
task = TranslationTask(TranslationTask.make_config(config["task_config"]))
test = task.load_data(config["task_config"]["train_source"], "test")
sources, refs = test.references()
translator = Translator(model, threads=1)
out = {}
for name, beam, penalty in (("greedy", 1, 0.0), ("beam5", 5, 0.0), ("beam5_lp0.6", 5, 0.6)):
    hyps = translator.translate(sources, beam=beam, length_penalty=penalty)
    out[name] = {k: v for k, v in mt_scores.scores(hyps, refs, task.config.target_tokens).items() if k != "signatures"}
print(json.dumps(out))
