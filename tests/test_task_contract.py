"""The Task contract: declared capabilities, fitted values that survive a saved run and an export, the fitted
task passed to compose(), a plugin's own data files, seqkit.testing.assert_task_contract, and the complete
numeric task of docs/plugins.md, trained, evaluated, exported and streamed as written."""
import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from plugin_fixtures import write_distribution

import seqkit
from seqkit.core.task import CAPABILITIES, Task
from seqkit.errors import ConfigError, ExportError, SeqkitError
from seqkit.testing import assert_task_contract

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def _docs_module(name: str) -> types.ModuleType:
    """The fenced python block of docs/plugins.md that starts with ``# {name}.py``, as a module."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if b.startswith(f"# {name}.py")]
    assert len(blocks) == 1, f"docs/plugins.md has {len(blocks)} blocks for {name}.py"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    try:
        exec(compile(blocks[0], f"{name}.py", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def levels():
    return _docs_module("my_levels")


def test_the_docs_numeric_task_trains_evaluates_exports_and_streams(levels, tmp_path):
    extra = {"levels": levels}
    scores = assert_task_contract("levels", extra=extra, samples=16, directory=tmp_path)
    run = tmp_path / "gru-levels-contract"
    saved = json.loads((run / "config.json").read_text())["composition"]
    assert set(saved["fitted"]) == {"mean", "std", "threshold"}  # fit()'s values, saved with the run
    assert "threshold" not in saved["task_config"]               # ... and not an option
    plugins = seqkit.load_plugins(extra=extra)
    loaded = seqkit.training.load_run(run, plugins)
    assert loaded.task.fitted == pytest.approx(saved["fitted"])
    # the saved run's baseline (train=None) uses the restored threshold: the same score as computed from it here
    test = loaded.task.load_data("levels", "test")
    assert scores["baselines"]["baseline"] == loaded.task.baseline(None, scores_data(loaded, scores))
    assert 0.5 < loaded.task.baseline(None, test)["accuracy"] <= 1.0
    # the encoder was built from the fitted values, not the defaults
    assert float(loaded.model.encoder.mean) == pytest.approx(saved["fitted"]["mean"])
    with pytest.raises(ConfigError, match="no option threshold"):
        levels.Levels.config_from_dict({"threshold": 0.5})  # -T cannot set a fitted value
    result = seqkit.export(loaded, tmp_path / "levels.onnx", streaming=True)
    assert result.report.ok and any("chunk" in c.output for c in result.report.checks)
    from seqkit.runtime import load

    served = load(tmp_path / "levels.onnx")
    assert served.metadata["fitted"] == pytest.approx(saved["fitted"])
    assert served.labels == ["low", "high"]
    stream = served.stream(1)
    assert stream.model.streaming["state"][0]["input"] == "state_in_h"
    mean_pooled = seqkit.compose("gru", "levels", task_config={"pooling": "mean"}, plugins=plugins)
    with pytest.raises(ExportError, match="mean pooling needs the whole sequence; use -T pooling=last"):
        seqkit.export(mean_pooled, tmp_path / "no.onnx", streaming=True)


def scores_data(composition, scores):
    """The samples assert_task_contract evaluated: the spread it takes of the task's first dataset."""
    pool = composition.task.load_data("levels", "train")
    idx = np.linspace(0, len(pool) - 1, scores["samples"]).round().astype(int)
    return [pool[i] for i in idx]


def test_capabilities_are_declared_or_inferred_and_checked():
    builtin = seqkit.load_plugins()
    assert builtin.task("forecasting").can("backtest") and not builtin.task("classification").can("backtest")
    assert builtin.task("language-model").can("state") and builtin.task("classification").can("report")

    class Old(Task):  # written before CAPABILITIES: inferred from its overrides, streaming included
        def report(self, outputs, target, data):
            return {}

    assert Old.capabilities() == {"report", "streaming"}

    class Declared(Old):
        CAPABILITIES = frozenset({"baselines"})

    assert not Declared.can("report") and not Declared.can("streaming") and Declared.can("baselines")

    class Unknown(Task):
        CAPABILITIES = frozenset({"telepathy"})

    with pytest.raises(ConfigError, match="unknown capabilities telepathy"):
        Unknown.capabilities()
    with pytest.raises(ValueError, match="unknown capability"):
        Old.can("telepathy")
    assert set(CAPABILITIES) == {"baselines", "report", "plots", "backtest", "streaming", "state", "calibrate"}


def test_compose_takes_the_fitted_task_and_refuses_a_mismatch(levels):
    plugins = seqkit.load_plugins(extra={"levels": levels})
    task = levels.Levels(levels.LevelsConfig(samples=20))
    task.fit(task.load_data("levels", "train"))
    task.prepared["anything"] = object()  # what fit() leaves for build_head reaches it: the object itself is used
    composition = seqkit.compose("gru", task, seqkit.CellConfig(hidden_size=4), plugins=plugins)
    assert composition.task is task and composition.config()["fitted"] == task.fitted
    again = seqkit.core.compose.compose_from_config(json.loads(json.dumps(composition.config())), plugins)
    assert again.task.fitted == pytest.approx(task.fitted) and again.task is not task
    with pytest.raises(ConfigError, match="not both"):
        seqkit.compose("gru", task, task_config={"samples": 3}, plugins=plugins)
    with pytest.raises(ConfigError, match="for task 'classification'"):
        seqkit.compose("gru", "classification", task_config=task, plugins=plugins)


def test_a_plugin_ships_its_own_data_files(tmp_path, monkeypatch):
    source = '''
        from pathlib import Path
        import seqkit
        from seqkit import Dataset

        class Lines(seqkit.Task):
            """Lines of a shipped file."""
            DATASETS = {"mine": Dataset("the plugin's own file", ("train",), file="data/mine_{split}.txt"),
                        "theirs": Dataset("seqkit's file", ("train",), file="classification/fortunes_{split}.csv"),
                        "gone": Dataset("a file nobody ships", ("train",), file="data/gone_{split}.txt")}

            def load_file(self, path, split, name):
                return Path(path).read_text().splitlines()

        @seqkit.hookimpl
        def seqkit_register_tasks(registry):
            registry.register("lines", Lines)
    '''
    root = write_distribution(tmp_path / "site", "my-lines", "1.0", {"lines": "my_lines"}, {})
    package = root / "my_lines"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text(__import__("textwrap").dedent(source))
    (package / "data" / "mine_train.txt").write_text("first\nsecond\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "my_lines", raising=False)
    plugins = seqkit.load_plugins()
    assert not [p for p in plugins.problems if p.plugin == "lines"]
    task = plugins.task("lines")()
    assert type(task).data_package() == "my_lines"
    assert task.load_data("mine", "train") == ["first", "second"]
    assert task.load_data("theirs", "train")[0].startswith("text,label")  # a file only seqkit ships: seqkit's
    with pytest.raises(SeqkitError, match="data/gone_train.txt is missing from my_lines; reinstall the package "
                                          "my_lines"):
        task.load_data("gone", "train")


class _Leaky(torch.nn.Module):
    """A head that averages over every step, padding included: a padded batch differs from each sample alone."""

    def __init__(self, size):
        super().__init__()
        self.proj = torch.nn.Linear(size, 2)

    def forward(self, outputs, state, lengths):
        return (self.proj(outputs.mean(1)),)


def test_assert_task_contract_catches_padding_that_leaks(levels):
    class Leaky(levels.Levels):
        def build_head(self, cell_output_size):
            return _Leaky(cell_output_size)

    module = types.SimpleNamespace(seqkit_register_tasks=seqkit.hookimpl(
        lambda registry: registry.register("leaky", Leaky)))
    with pytest.raises(AssertionError, match="padded vs alone"):
        assert_task_contract("leaky", extra={"leaky": module}, samples=6)


def test_language_model_exports_for_streaming_in_one_state_schema(tmp_path):
    """The language model's own state inputs are the streaming state: --streaming exports that file, proven
    chunk by chunk (it failed with "too many values to unpack"), and a Stream carries h0 -> hn between calls."""
    from seqkit.cli import main

    path = tmp_path / "lm.onnx"
    with pytest.raises(SystemExit) as done:
        main(["export", "--task", "language-model", "--cell", "gru", "--hidden-size", "8", "--streaming", "-o",
              str(path)])
    assert done.value.code in (0, None)
    from seqkit.runtime import load

    served = load(path)
    assert [(d["input"], d["output"]) for d in served.streaming["state"]] == [("h0", "hn")]
    assert [s.name for s in served.inputs] == ["tokens", "h0"]  # the same file as without --streaming
    tokens = np.random.default_rng(0).integers(1, 20, size=(1, 12))
    whole = served.run({"tokens": tokens, **served.zero_state(1)})
    stream = served.stream(1)
    parts = [stream.run({"tokens": tokens[:, a:b]}) for a, b in ((0, 5), (5, 6), (6, 12))]
    np.testing.assert_allclose(np.concatenate([p["logits"] for p in parts], 1), whole["logits"], atol=1e-5)
    np.testing.assert_allclose(parts[-1]["hn"], whole["hn"], atol=1e-5)
    plain = tmp_path / "plain.onnx"  # without --streaming: the same file, described in the same schema
    seqkit.export(seqkit.compose("gru", "language-model", seqkit.CellConfig(hidden_size=8)), plain, verify=False)
    assert load(plain).streaming["state"] == served.streaming["state"]
