"""Tests of the tagging plugin, written only against seqkit's public API (as any plugin author would)."""
import json

import pytest
import torch

import seqkit
import seqkit_tagging
from seqkit.testing import assert_exports, seqkit_plugins  # noqa: F401 (fixture)


def test_the_installed_entry_point_registers_the_task(seqkit_plugins):
    entry = seqkit_plugins.tasks.get("tagging")
    assert entry.obj is seqkit_tagging.TaggingTask
    assert entry.source.distribution == "seqkit-tagging"


@pytest.mark.parametrize("cell,bidirectional", [("rnn", False), ("lstm", True), ("gru", False)])
def test_exports_with_builtin_cells_and_verifies(cell, bidirectional, tmp_path):
    result = assert_exports(cell, "tagging", seqkit.CellConfig(hidden_size=8, bidirectional=bidirectional),
                            {"num_tags": 5, "vocab_size": 30}, directory=tmp_path)
    inputs = result.report.metadata["inputs"]
    assert [s["name"] for s in inputs] == ["tokens", "lengths"]
    assert result.report.metadata["outputs"][0]["shape"] == ["batch", "time", 5]
    assert {c.time for c in result.report.checks} >= {1, 23}  # time 1 and longer than the trace


def test_logits_are_zero_after_each_length_and_the_loss_ignores_padding():
    composition = seqkit.compose("gru", "tagging", task_config={"num_tags": 3, "vocab_size": 10})
    task, model = composition.task, composition.model
    tokens = torch.randint(2, 10, (2, 6))
    lengths = torch.tensor([6, 3])
    (logits,) = model(tokens, lengths)
    assert torch.all(logits[1, 3:] == 0) and torch.any(logits[1, :3] != 0)
    target = torch.randint(0, 3, (2, 6))
    target[1, 3:] = seqkit_tagging.IGNORE
    changed = logits.detach().clone()
    changed[1, 3:] = 100.0  # whatever a model emits at padded steps does not count
    assert task.loss((changed,), target) == pytest.approx(task.loss((logits.detach(),), target).item())
    assert task.metrics((changed,), target)["accuracy"] == task.metrics((logits.detach(),), target)["accuracy"]


def test_jsonl_data_fit_and_errors(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"tokens": ["the", "cat"], "tags": ["DET", "NOUN"]}) + "\n"
                    + json.dumps({"tokens": ["a", "dog", "runs"], "tags": ["DET", "NOUN", "VERB"]}) + "\n")
    task = seqkit_tagging.TaggingTask()
    data = task.load_data(str(path))
    task.fit(data)
    assert task.config.labels == ["DET", "NOUN", "VERB"] and task.config.vocab_size == 5 + 2
    (tokens, lengths), target = task.collate(data)
    assert tokens.shape == (2, 3) and lengths.tolist() == [2, 3] and target[0, 2] == seqkit_tagging.IGNORE
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"tokens": ["x", "y"], "tags": ["DET"]}) + "\n")
    with pytest.raises(seqkit.SeqkitError, match=r"bad.jsonl line 1: 2 tokens but 1 tags"):
        task.load_data(str(bad))


def test_learns_to_tag_brackets(tmp_path):
    """Tags depend on earlier tokens (inside or outside a span): the model must beat the majority tag clearly."""
    from seqkit.training import TrainConfig, prepare, train

    torch.set_num_threads(1)
    options = {"length": 16, "num_samples": 600, "num_eval": 150}
    prepared = prepare("gru", "tagging", "brackets", seqkit.CellConfig(hidden_size=16), options)
    val = prepared.composition.task.load_data("brackets", "val")
    result = train(prepared.composition, prepared.train_data, val,
                   TrainConfig(epochs=4, lr=0.01, progress=False, patience=0), run_dir=tmp_path / "run")
    baseline = result.baseline["accuracy"]
    assert baseline < 0.7
    assert result.metrics["accuracy"] > baseline + 0.2, (result.metrics, baseline)


def test_keeps_the_task_contract_and_streams(tmp_path):
    """seqkit.testing's task check (collate/loss/metrics, padded vs alone, one epoch, the saved run's baseline),
    then the streaming export, verified chunk by chunk."""
    from seqkit.testing import assert_task_contract

    scores = assert_task_contract("tagging", {"num_samples": 16, "length": 12}, data="brackets", samples=8,
                                  directory=tmp_path)
    assert 0.0 <= scores["baseline"]["accuracy"] <= 1.0
    result = assert_exports("gru", "tagging", seqkit.CellConfig(hidden_size=8), {"num_tags": 4, "vocab_size": 20},
                            directory=tmp_path, streaming=True)
    assert any("chunk" in c.output for c in result.report.checks)
