"""Every bad input a user can type gets one line, exit code != 0, no traceback and no file left behind.

The table holds the cases of issue 11 (each of which once ended in a traceback or was silently accepted) and
others of the same families: option values of the wrong type, sizes that would exhaust memory, out-of-range
values, lists, opsets, unknown names, damaged run folders and ONNX files. Plugin-author mistakes are at the end.
"""
import json
import os
import shutil

import onnx
import pytest
import torch
from click.testing import CliRunner
from plugin_fixtures import plugin_module

import seqkit
from seqkit.cli import cli
from seqkit.errors import ConfigError, PluginError
from seqkit.kit.heads import PooledHead

BIG = str(10 ** 11)
CASES = [
    # -- option values parsed by their declared type ----------------------------------------------------------
    (["export", "-T", "num_classes=abc"], "option num_classes=abc: expected an integer"),
    (["export", "-T", "num_classes=2.5"], "option num_classes=2.5: expected an integer"),
    (["export", "-T", "vocab_size=50.5"], "option vocab_size=50.5: expected an integer"),
    (["export", "-T", "num_classes=[3]"], "option num_classes=[3]: expected an integer"),
    (["export", "-T", "num_features=x"], "option num_features=x: expected an integer"),
    (["export", "-T", "num_features=1e3"], "option num_features=1e3: expected an integer"),
    (["export", "--task", "forecasting", "-T", "horizon=abc"], "option horizon=abc: expected an integer"),
    (["export", "--task", "forecasting", "-T", "test_fraction=half"], "test_fraction=half: expected a number"),
    (["export", "--task", "speech-frames", "-T", "hop_ms=nan"], "hop_ms=nan: expected a number"),
    (["export", "--task", "video-frames", "-T", "frame_diff=maybe"], "frame_diff=maybe: expected true or false"),
    (["export", "--task", "video-frames", "-T", "conv_channels=[8,x]"], "expected a list of integers"),
    (["export", "--task", "video-frames", "-T", "conv_channels=[8, 2.5]"], "expected a list of integers"),
    (["export", "-T", "mean=[a]", "-T", "std=[1]", "-T", "num_features=1"], "expected a list of numbers"),
    (["export", "--cell", "lstm", "-O", "forget_bias=abc"], "option forget_bias=abc: expected a number or none"),
    (["export", "--cell", "lstm", "-O", "proj_size=1.5"], "option proj_size=1.5: expected an integer"),
    (["export", "--cell", "indrnn", "-O", "nonlinearity=[relu"], "indrnn nonlinearity must be relu or tanh"),
    (["export", "--cell", "rnn", "-O", "nonlinearity=1"], "nonlinearity must be tanh or relu, got '1'"),
    (["export", "--task", "adding", "-T", "length=1.5"], "option length=1.5: expected an integer"),
    # -- sizes that would exhaust memory: refused before anything is allocated ------------------------------
    (["export", "--hidden-size", "100000000"], "the model would have"),
    (["export", "-T", f"embedding_dim={BIG}"], "the model would have"),
    (["export", "-T", f"vocab_size={BIG}"], "the model would have"),
    (["export", "-T", f"num_classes={BIG}"], "the model would have"),
    (["export", "--task", "forecasting", "-T", f"horizon={BIG}"], "the model would have"),
    (["export", "--num-layers", "1000", "--hidden-size", "20000"], "the model would have"),
    (["export", "--task", "video-frames", "-T", f"height={BIG}"], "the model would have"),
    # -- ranges --------------------------------------------------------------------------------------------
    (["export", "--atol", "-1"], "Invalid value for '--atol': must be >= 0"),
    (["export", "--rtol", "-0.5"], "Invalid value for '--rtol': must be >= 0"),
    (["export", "--hidden-size", "0"], "Invalid value for '--hidden-size': must be > 0"),
    (["export", "--dropout", "1.5"], "dropout must be in [0, 1)"),
    (["export", "-T", "num_features=1", "-T", "mean=[0]", "-T", "std=[0]"], "std[0] is 0.0; std entries must be"),
    (["export", "-T", "num_features=2", "-T", "mean=[0,0]", "-T", "std=[1,-1]"], "std[1] is -1.0"),
    (["export", "-T", "num_features=2", "-T", "mean=[0,0]"], "mean and std must be given together"),
    (["export", "-T", "num_features=2", "-T", "std=[1,1]"], "mean and std must be given together"),
    (["export", "-T", "num_features=2", "-T", "mean=[0]", "-T", "std=[1]"], "normalisation has 1 means"),
    (["export", "-T", "mean=[0]", "-T", "std=[1]"], "set num_features > 0"),
    (["export", "--task", "forecasting", "-T", "mean=[0]", "-T", "std=[0]"], "std entries must be finite and > 0"),
    (["export", "--task", "speech-frames", "-T", "num_coeffs=1", "-T", "mean=[0]", "-T", "std=[0]"], "std[0] is 0.0"),
    (["export", "--task", "video-frames", "-T", "mean=[0]"], "mean and std must be given together"),
    (["export", "--task", "video-frames", "-T", "conv_channels=[]"], "conv_channels must be a non-empty list"),
    (["export", "--task", "video-frames", "-T", "conv_channels=[0]"], "conv_channels must be a non-empty list"),
    (["export", "--task", "forecasting", "-T", "test_fraction=1.5"], "test_fraction must be in (0, 1)"),
    (["export", "-T", "num_classes=1"], "needs at least 2 classes"),
    (["export", "--seed", "-3"], "seed must be a non-negative integer"),
    # -- lists: a bare word is ONE item, never split into letters -------------------------------------------
    (["export", "-T", "labels=abc", "-T", "num_classes=3"], "1 labels given for 3 classes"),
    (["export", "-T", "labels=[a,b]", "-T", "num_classes=3"], "2 labels given for 3 classes"),
    # -- opsets: written as asked, or refused with the range --------------------------------------------------
    (["export", "--opset", "7"], "opset 7 is not supported; choose 18.."),
    (["export", "--opset", "0"], "opset 0 is not supported"),
    (["export", "--opset", "99"], "opset 99 is not supported"),
    (["export", "--opset", "15"], "opset 15 is not supported"),
    (["export", "--opset", "16", "-T", "pooling=max"], "could not write opset 16 for this model"),
    # -- unknown names and malformed pairs ------------------------------------------------------------------
    (["export", "--cell", "nope"], "unknown cell 'nope'"),
    (["export", "--task", "nope"], "unknown task 'nope'"),
    (["export", "-O", "bogus=1"], "has no option bogus"),
    (["export", "-T", "bogus=1"], "has no option bogus"),
    (["export", "-O", "novalue"], "is not KEY=VALUE"),
    (["export", "-T", "=3"], "is not KEY=VALUE"),
    (["export", "--bogus"], "No such option '--bogus'"),
    (["nope"], "No such command 'nope'"),
    # -- damaged run folders (export RUN / evaluate RUN) -------------------------------------------------------
    (["export", "run-list"], "run-list/config.json has no complete composition"),
    (["evaluate", "run-list", "--data", "basic-motions"], "run-list/config.json has no complete composition"),
    (["export", "run-unknown-key"], "cell config has no option bogus"),
    (["evaluate", "run-unknown-key", "--data", "basic-motions"], "cell config has no option bogus"),
    (["export", "run-wrong-type"], "option num_classes=\"4\": expected an integer"),
    (["export", "run-options-list"], "cell config options must be a mapping"),
    (["export", "run-not-json"], "is not valid JSON"),
    (["export", "run-no-weights"], "has no weights.safetensors"),
    (["export", "run-list", "--cell", "gru"], "RUN fixes the model; drop --cell"),
    # -- damaged or foreign ONNX files ----------------------------------------------------------------------
    (["verify", "notes.onnx"], "is not a readable ONNX file"),
    (["verify", "plain.onnx"], "has no seqkit metadata"),
    (["verify", "inputs-not-a-list.onnx"], "its seqkit.inputs metadata is not a list of tensor specs (got dict)"),
    (["verify", "inputs-junk.onnx"], "its seqkit.inputs metadata is not a list of tensor specs (entry 0"),
    (["verify", "inputs-axis.onnx"], "axis 1 is named 'seq'"),
    (["verify", "inputs-dtype.onnx"], "has dtype 'float99'"),
    (["verify", "inputs-float.onnx"], "onnxruntime cannot run it on inputs made as its seqkit.inputs metadata"),
    (["verify", "missing.onnx"], "does not exist"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with damaged run folders and ONNX files for the cases above."""
    root = tmp_path_factory.mktemp("bad")
    composition = seqkit.compose("gru", cell_config=seqkit.CellConfig(hidden_size=4))
    good = composition.config()
    runs = {
        "run-list": [1, 2],
        "run-unknown-key": {"composition": {**good, "cell_config": {**good["cell_config"], "bogus": 1}}},
        "run-wrong-type": {"composition": {**good, "task_config": {**good["task_config"], "num_classes": "4"}}},
        "run-options-list": {"composition": {**good, "cell_config": {**good["cell_config"], "options": [1]}}},
        "run-no-weights": {"composition": good},
    }
    for name, config in runs.items():
        (root / name).mkdir()
        (root / name / "config.json").write_text(json.dumps(config))
    (root / "run-not-json").mkdir()
    (root / "run-not-json" / "config.json").write_text("{composition")
    (root / "notes.onnx").write_text("not a model")
    seqkit.export(composition, root / "good.onnx", verify=False)
    proto = onnx.load(root / "good.onnx")
    onnx.save(_with_inputs(proto, None), root / "plain.onnx")
    specs = json.loads(next(p.value for p in proto.metadata_props if p.key == "seqkit.inputs"))
    onnx.save(_with_inputs(proto, {"name": "tokens"}), root / "inputs-not-a-list.onnx")
    onnx.save(_with_inputs(proto, [["tokens"]]), root / "inputs-junk.onnx")
    onnx.save(_with_inputs(proto, [{**specs[0], "shape": ["batch", "seq"]}, specs[1]]), root / "inputs-axis.onnx")
    onnx.save(_with_inputs(proto, [{**specs[0], "dtype": "float99"}, specs[1]]), root / "inputs-dtype.onnx")
    onnx.save(_with_inputs(proto, [{**specs[0], "dtype": "float32", "kind": "data"}, specs[1]]),
              root / "inputs-float.onnx")
    os.remove(root / "good.onnx")
    return root


def _with_inputs(proto, value):
    """A copy of ``proto`` whose ``seqkit.inputs`` metadata is ``value`` (None: no seqkit metadata at all)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    kept = [(p.key, p.value) for p in copy.metadata_props if value is not None and p.key != "seqkit.inputs"]
    del copy.metadata_props[:]
    for key, text in kept + ([("seqkit.inputs", json.dumps(value))] if value is not None else []):
        copy.metadata_props.add(key=key, value=text)
    return copy


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line(workspace, tmp_path, monkeypatch, args, message):
    for entry in os.listdir(workspace):
        (shutil.copytree if (workspace / entry).is_dir() else shutil.copy)(workspace / entry, tmp_path / entry)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an escaped exception
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0]
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert after == before  # no model, no temporary file


def test_a_bare_column_name_is_one_column_and_is_recorded(tmp_path, monkeypatch):
    """-T columns=sunactivity was split into letters; it is one column, as the exported file says."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", "--task", "forecasting", "-T", "columns=sunactivity", "--no-verify",
                                      "--hidden-size", "4", "--json"])
    assert result.exit_code == 0, result.output
    meta = seqkit.onnx.verify.read_metadata(onnx.load(tmp_path / "gru-forecasting.onnx"))
    assert meta["task_metadata"]["columns"] == ["sunactivity"]
    assert meta["config"]["task_config"]["columns"] == ["sunactivity"]


@pytest.mark.parametrize("text,kind,value", [
    ("abc", "list[str]", ["abc"]), ("", "list[str]", []), ("[a, b]", "list[str]", ["a", "b"]),
    ('["a,b", "c"]', "list[str]", ["a,b", "c"]),
    ("[1, 2]", "list[str]", ["1", "2"]), ("[]", "list[int]", []), ("8", "list[int]", [8]),
    ("[0.5, 1e-3]", "list[float]", [0.5, 1e-3]), ("none", "float | None", None), ("2", "float", 2.0),
    ("123", "str", "123"), ("true", "bool", True), ("0", "bool", False), ("null", "str | None", None),
])
def test_text_is_parsed_by_the_declared_type(text, kind, value):
    from seqkit.core.options import kind_of, parse_text

    assert parse_text(text, kind_of(eval(kind))) == value


@pytest.mark.parametrize("values,message", [
    ({"num_classes": True}, "num_classes=true: expected an integer"),
    ({"num_classes": 3.0}, "num_classes=3.0: expected an integer"),
    ({"labels": "ab"}, "expected a list of strings"),
    ({"labels": [1, 2]}, "expected a list of strings"),
    ({"pooling": None}, "expected a string"),
    ({"mean": [float("nan")], "std": [1.0], "num_features": 1}, "expected a list of numbers"),
])
def test_api_values_are_checked_against_the_field_type(plugins, values, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        seqkit.compose("gru", task_config=values, plugins=plugins)


def test_an_int_is_taken_for_a_float_and_a_config_instance_is_checked(plugins):
    task_cls = plugins.task("classification")
    config = task_cls.make_config({"num_features": 2, "mean": [0, 1], "std": [1, 2]})
    assert config.mean == [0.0, 1.0] and all(isinstance(v, float) for v in config.std)
    bad = task_cls.Config(num_classes="3")
    with pytest.raises(ConfigError, match="num_classes=\"3\": expected an integer"):
        task_cls.make_config(bad)


# -- plugin-author mistakes name the real culprit -------------------------------------------------------------
class _TensorHead(PooledHead):
    def forward(self, outputs, state, lengths):
        return super().forward(outputs, state, lengths)[0]  # a tensor, not (logits,)


def _plugins_with(**tasks_and_cells):
    def seqkit_register_tasks(registry):
        for name, cls in tasks_and_cells.items():
            if issubclass(cls, seqkit.Task):
                registry.register(name, cls)

    def seqkit_register_cells(registry):
        for name, cls in tasks_and_cells.items():
            if issubclass(cls, seqkit.Cell):
                registry.register(name, cls)

    mod = plugin_module("author_mistakes", seqkit_register_tasks=seqkit_register_tasks,
                        seqkit_register_cells=seqkit_register_cells)
    return seqkit.load_plugins(extra={"mistakes": mod})


def _classification():
    from seqkit.builtin.tasks.classification import ClassificationTask
    return ClassificationTask


def test_a_head_returning_a_tensor_is_blamed_on_the_head():
    class TensorTask(_classification()):
        def build_head(self, n):
            return _TensorHead(n, self.config.num_classes, self.config.pooling)

    loaded = _plugins_with(**{"tensor-head": TensorTask})
    with pytest.raises(PluginError, match=r"task 'tensor-head' \(class .*TensorTask.*\): the head returned a Tensor "
                                          r"of shape \[2, 2\]; build_head\(\)'s module must return a tuple"):
        seqkit.compose("gru", "tensor-head", plugins=loaded)


def test_an_axis_named_other_than_batch_or_time_is_named():
    class SeqAxis(_classification()):
        def inputs(self):
            specs = super().inputs()
            specs[0].shape = ("batch", "seq")
            return specs

    loaded = _plugins_with(**{"seq-axis": SeqAxis})
    with pytest.raises(PluginError, match="input 'tokens' axis 1 is named 'seq'; a dynamic axis must be named "
                                          "'batch' or 'time'"):
        seqkit.compose("gru", "seq-axis", plugins=loaded)


@pytest.mark.parametrize("cell", ["gru", "indrnn"])
def test_a_wrong_feature_size_is_blamed_on_the_task_not_the_cell(cell):
    class WrongSize(_classification()):
        def feature_size(self):
            return 12  # the encoder gives embedding_dim = 16

    loaded = _plugins_with(**{"wrong-size": WrongSize})
    with pytest.raises(PluginError, match=r"task 'wrong-size' .*feature_size\(\) returns 12 but the encoder gives 16"):
        seqkit.compose(cell, "wrong-size", plugins=loaded)


def test_a_cell_whose_init_raises_is_one_line_naming_it():
    class Boom(seqkit.Cell):
        def __init__(self, input_size, config):
            super().__init__(input_size, config)
            raise RuntimeError("boom")

    loaded = _plugins_with(boom=Boom)
    with pytest.raises(PluginError, match=r"cell 'boom' \(class .*Boom from .*\) failed to build: RuntimeError: boom"):
        seqkit.compose("boom", plugins=loaded)


def test_cell_options_are_checked_against_the_type_of_their_default():
    class Scaled(seqkit.ScanCell):
        OPTIONS = {"scale": 1.0, "steps": 2, "name": "x", "limit": None}

        def init_step(self, input_size):
            self.lin = torch.nn.Linear(input_size + self.hidden_size, self.hidden_size)

        def step(self, x_t, state):
            h = torch.tanh(self.lin(torch.cat([x_t, state[0]], -1))) * self.option("scale")
            return h, (h,)

    loaded = _plugins_with(scaled=Scaled)
    config = seqkit.CellConfig(options={"scale": 2, "limit": [1, "a"]})
    composition = seqkit.compose("scaled", cell_config=config, plugins=loaded)
    assert composition.cell_config.options == {"scale": 2.0, "limit": [1, "a"]}  # None default: any value
    for options, message in [({"scale": "big"}, "scale=\"big\": expected a number"),
                             ({"steps": 2.5}, "steps=2.5: expected an integer"),
                             ({"name": 3}, "name=3: expected a string")]:
        with pytest.raises(ConfigError, match=message):
            seqkit.compose("scaled", cell_config=seqkit.CellConfig(options=options), plugins=loaded)


def test_a_name_clash_with_a_built_in_is_a_listed_problem(monkeypatch):
    class Other(seqkit.ScanCell):
        """Another gru."""

    loaded = _plugins_with(gru=Other)
    problems = [str(p) for p in loaded.problems]
    assert any("plugin 'mistakes': cell 'gru' is claimed by plugin 'gru' (seqkit" in p and
               "SEQKIT_DISABLE_PLUGINS (one of: gru,mistakes)" in p for p in problems), problems
    assert loaded.all_problems() == problems
    with pytest.raises(PluginError, match="cell 'gru' is registered by both"):
        seqkit.compose("gru", plugins=loaded)


def test_an_exception_is_described_by_its_first_non_blank_line():
    from seqkit.errors import described, first_line

    assert first_line(RuntimeError("\n  boom  \nthe traceback text")) == "boom"
    assert described(RuntimeError("\n  boom  \nmore")) == "RuntimeError: boom"
    # an empty message (torch and onnx raise some) must not fail while the error is being reported
    assert first_line(ValueError()) == "" and described(ValueError()) == "ValueError"
