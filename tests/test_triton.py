"""seqkit triton: the repository's config.pbtxt parses with Triton's own schema and matches the ONNX file."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2  # Triton's own schema (the test extra installs tritonclient)

from seqkit.runtime import load

TYPES = {onnx.TensorProto.FLOAT: model_config_pb2.TYPE_FP32, onnx.TensorProto.INT64: model_config_pb2.TYPE_INT64,
         onnx.TensorProto.INT32: model_config_pb2.TYPE_INT32}


def parsed(folder):
    return text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


def graph_shapes(path):
    graph = onnx.load(str(path)).graph

    def shape(v):
        return [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim]
    return ({v.name: (v.type.tensor_type.elem_type, shape(v)) for v in graph.input},
            {v.name: (v.type.tensor_type.elem_type, shape(v)) for v in graph.output})


def assert_matches(config, path):
    inputs, outputs = graph_shapes(path)
    for entries, graph in ((config.input, inputs), (config.output, outputs)):
        for entry in entries:
            elem, shape = graph[entry.name]
            assert entry.data_type == TYPES[elem], entry.name
            assert shape[0] == -1  # batch-first: Triton adds the batch axis
            want = shape[1:] or [1]
            assert list(entry.dims) == want, (entry.name, list(entry.dims), want)
            if len(shape) == 1:
                assert list(entry.reshape.shape) == []
    return inputs, outputs


@pytest.mark.parametrize("case", ["classification-text", "forecasting", "speech-frames"])
def test_plain_file_repository(run, deployed, tmp_path, case):
    path = deployed(case).path
    assert run("triton", str(path), "-o", str(tmp_path / "repo"), "--name", "m").exit_code == 0
    folder = tmp_path / "repo" / "m"
    config = parsed(folder)
    assert config.name == "m" and config.platform == "onnxruntime_onnx" and config.max_batch_size == 64
    assert config.HasField("dynamic_batching")
    inputs, outputs = assert_matches(config, folder / "1" / "model.onnx")
    assert [e.name for e in config.input] == list(inputs) and [e.name for e in config.output] == list(outputs)
    assert (folder / "1" / "model.onnx").read_bytes() == path.read_bytes()


def test_streaming_file_gets_implicit_batch_first_state(run, deployed, tmp_path):
    path = deployed("speech-frames", streaming=True).path
    assert run("triton", str(path), "-o", str(tmp_path / "repo")).exit_code == 0
    folder = tmp_path / "repo" / path.stem
    config = parsed(folder)
    copy = folder / "1" / "model.onnx"
    inputs, outputs = assert_matches(config, copy)
    model = load(path)
    pairs = [(d["input"], d["output"]) for d in model.streaming["state"]]
    states = [(s.input_name, s.output_name) for s in config.sequence_batching.state]
    assert states == pairs and sorted(i for i, _ in pairs) == [i for i, _ in sorted(pairs, key=lambda p: p[1])]
    for s in config.sequence_batching.state:  # batch-first in the copy: [batch, layers, hidden]
        assert [-1, *s.dims] == inputs[s.input_name][1] == outputs[s.output_name][1]
        assert s.initial_state[0].zero_data and list(s.initial_state[0].dims) == list(s.dims)
    control = config.sequence_batching.control_input[0]
    start = model_config_pb2.ModelSequenceBatching.Control.CONTROL_SEQUENCE_START
    assert control.name == "START" and control.control[0].kind == start
    assert set(inputs) == {e.name for e in config.input} | {i for i, _ in pairs} | {"START"}
    # the rewritten copy carries state chunk by chunk as Stream does; START zeroes whatever state comes in
    sess = ort.InferenceSession(str(copy))
    x = np.random.default_rng(0).standard_normal((9, 20)).astype(np.float32) - 5
    stream = model.stream()
    state = {i: np.full((1, *s.dims), 7.0, np.float32) for (i, _), s in zip(pairs, config.sequence_batching.state)}
    for k, chunk in enumerate((x[:4], x[4:5], x[5:])):
        want = stream.run({"frames": chunk[None], "lengths": np.array([len(chunk)])})
        feeds = {"frames": chunk[None], "lengths": np.array([len(chunk)]),
                 "START": np.array([[int(k == 0)]], np.int32), **state}
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
        for name, value in want.items():
            if name in dict(pairs).values():
                value = value.transpose(1, 0, 2)
            np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
        state = {i: got[o] for i, o in pairs}


def test_existing_repository_needs_force(run, deployed, tmp_path):
    path = str(deployed("adding").path)
    assert run("triton", path, "-o", str(tmp_path / "repo")).exit_code == 0
    result = run("triton", path, "-o", str(tmp_path / "repo"))
    assert result.exit_code == 1 and "--force" in result.output
