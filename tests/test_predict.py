"""seqkit predict: an input form per task, JSON lines or CSV, one-line errors, no torch on its path."""
import csv
import json

import numpy as np
import pytest
from deploy_cases import CASES, assert_same, write_input

from seqkit.runtime import load


@pytest.mark.parametrize("case", list(CASES))
def test_predict_each_task_from_its_file_form(deployed, run, tmp_path, case):
    path = deployed(case).path
    source, samples = write_input(case, tmp_path)
    result = run("predict", path, source, "--batch-size", 2)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    want = load(path).predict(samples)
    assert [r["sample"] for r in records] == list(range(len(samples)))
    for record, expected in zip(records, want):
        assert str(source) in record["source"]
        assert_same({k: v for k, v in record.items() if k not in ("sample", "source")}, expected)


def test_sources_name_lines_and_csv_output(deployed, run, tmp_path):
    path = deployed("classification-text").path
    source, _ = write_input("classification-text", tmp_path)
    result = run("predict", path, source, "-o", "out.csv")
    assert result.exit_code == 0 and "wrote 3 predictions to out.csv (cpu" in result.output
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert [r["source"] for r in rows] == [f"{source} line 1", f"{source} line 3", f"{source} line 4"]
    assert set(rows[0]) == {"sample", "source", "label", "probability", "probabilities.good", "probabilities.bad",
                            "probabilities.odd"}
    assert rows[0]["label"] in ("good", "bad", "odd")
    assert sum(float(rows[0][f"probabilities.{k}"]) for k in ("good", "bad", "odd")) == pytest.approx(1.0)
    again = run("predict", path, source, "-o", "out.csv")
    assert again.exit_code == 1 and "already exists; pass --force" in again.output
    assert run("predict", path, "--text", "a dog", "--text", "the cat", "-o", "out.csv", "--force").exit_code == 0
    assert [r["source"] for r in csv.DictReader(open(tmp_path / "out.csv"))] == ["--text 1", "--text 2"]


def test_tags_and_forecasts_are_readable(deployed, run, tmp_path):
    source, _ = write_input("tagging", tmp_path)
    record = json.loads(run("predict", deployed("tagging").path, source).output.splitlines()[0])
    assert len(record["tags"]) == 5 and set(record["tags"]) <= set("BEIO")
    source, _ = write_input("forecasting", tmp_path)
    record = json.loads(run("predict", deployed("forecasting").path, source).output)
    assert list(record["forecast"]) == ["load", "temp"] and len(record["forecast"]["load"]) == 2
    assert "lines 6-11 (the last 6 steps)" in record["source"]


@pytest.mark.parametrize("case,content,message", [
    ("classification-text", ("texts.csv", "text,label\nthe cat,a\n,b\n"), "texts.csv line 3: column 'text' is empty"),
    ("classification-text", ("t.jsonl", '{"text": "a dog"}\n[1, 2, 99]\n'), "t.jsonl line 2: input 'tokens' step 2: "
                                                                          "token id 99 is outside 0..10"),
    ("classification-text", ("t.jsonl", '{"text": "a dog"}\n{"txt": 1}\n'), "t.jsonl line 2: keys ['txt']"),
    ("classification-text", ("t.jsonl", '{"text": "a dog"\n'), "t.jsonl line 1: not valid JSON"),
    ("classification-features", ("x.npz", None), "x.npz item 1: length 0 is outside 1..4 (time)"),
    ("forecasting", ("s.csv", "load,temp\n1,2\n3,oops\n"), "s.csv line 3: column 'temp' is 'oops', not a number"),
    ("forecasting", ("s.csv", "load,rain\n1,2\n"), "s.csv: no column 'temp' in the header"),
    ("forecasting", ("t.txt", "hello\n"), "t.txt: a text file, but this model takes an array [time, 2]"),
    ("adding", ("s.jsonl", "[[0.5, 0], [0.1, 1]]\n[[0.5, 0, 3]]\n"), "s.jsonl line 2: input 'series' has shape [1, 3]"),
    ("adding", ("s.jsonl", '[[0.5, 0], [0.1, "x"]]\n'), "s.jsonl line 1: input 'series' is not a regular array"),
    ("speech-frames", ("empty", None), "no .wav files found"),
    ("speech-frames", ("bad.wav", "RIFF...."), "bad.wav: not a readable PCM WAV file (not a WAVE"),
])
def test_bad_input_is_one_line_naming_the_sample(deployed, run, tmp_path, case, content, message):
    name, text = content
    target = tmp_path / name
    if name == "x.npz":
        np.savez(target, X=np.ones((2, 4, 3), np.float32), lengths=np.array([4, 0]))
    elif name == "empty":
        target.mkdir()
    else:
        target.write_text(text)
    result = run("predict", deployed(case).path, target)
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_needs_input_or_text_and_text_needs_a_tokenizer(deployed, run):
    assert "give either INPUT" in run("predict", deployed("adding").path).output
    result = run("predict", deployed("adding").path, "--text", "hi")
    assert result.exit_code == 1 and "--text needs a model with a tokenizer" in result.output


def test_help_has_an_example_per_task(run):
    result = run("predict", "--help")
    assert result.exit_code == 0
    for task in ("classification", "forecasting", "speech-frames", "video-frames", "adding", "tagging"):
        assert task in result.output
    assert result.output.count("seqkit predict ") >= 7


def test_progress_bar_only_for_long_inputs_on_a_terminal(monkeypatch):
    import sys

    from seqkit.cli.predict import _progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not _progress(True).disable and _progress(False).disable
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert _progress(True).disable
