"""The alternative lowerings of native recurrent nodes compute what onnxruntime's native kernels compute.

Two levels: single ONNX nodes (every output, initial states, sequence lengths, directions, RNN relu) rewritten
and compared with the native node on onnxruntime -- no PyTorch involved; then whole seqkit exports with
``--lowering``, verified against PyTorch like any export, with the choice in the metadata.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import seqkit
from seqkit.errors import ExportError
from seqkit.onnx.lowering.rewrite import AUTO, lower, rewrite
from seqkit.onnx.verify import read_metadata

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def single_node(op: str, direction: str, hidden: int = 5, features: int = 3, lengths: bool = True,
                initial: bool = True, activation: str | None = None, seed: int = 0) -> onnx.ModelProto:
    """A model of one native recurrent node with all its outputs as graph outputs; weights as initializers."""
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    inits = [numpy_helper.from_array(rng.standard_normal((dirs, g * hidden, features)).astype(np.float32) * 0.5, "W"),
             numpy_helper.from_array(rng.standard_normal((dirs, g * hidden, hidden)).astype(np.float32) * 0.5, "R"),
             numpy_helper.from_array(rng.standard_normal((dirs, 2 * g * hidden)).astype(np.float32) * 0.5, "B")]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", features])]
    names = ["X", "W", "R", "B"]
    if lengths:
        inputs.append(helper.make_tensor_value_info("lens", TensorProto.INT32, ["N"]))
    names.append("lens" if lengths else "")
    if initial:
        inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [dirs, "N", hidden]))
        names.append("h0")
        if op == "LSTM":
            inputs.append(helper.make_tensor_value_info("c0", TensorProto.FLOAT, [dirs, "N", hidden]))
            names.append("c0")
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    attrs = {"hidden_size": hidden, "direction": direction}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    if activation:
        attrs["activations"] = [activation] * dirs
    node = helper.make_node(op, names, outs, name="rec", **attrs)
    shapes = {"Y": ["T", dirs, "N", hidden], "Y_h": [dirs, "N", hidden], "Y_c": [dirs, "N", hidden]}
    outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outs]
    graph = helper.make_graph([node], "g", inputs, outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def feeds_for(model: onnx.ModelProto, batch: int, time: int, rng) -> dict:
    feeds = {}
    for vi in model.graph.input:
        if vi.name == "lens":
            lens = rng.integers(1, time + 1, size=batch)
            lens[0] = time
            feeds["lens"] = lens.astype(np.int32)
        else:
            dims = [d.dim_value if d.HasField("dim_value") else {"T": time, "N": batch}[d.dim_param]
                    for d in vi.type.tensor_type.shape.dim]
            feeds[vi.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


CASES = [(op, direction, lengths, initial)
         for op in ("RNN", "LSTM", "GRU")
         for direction in ("forward", "reverse", "bidirectional")
         for lengths, initial in ((True, True), (False, False), (True, False))]


@pytest.mark.parametrize("op,direction,lengths,initial", CASES)
def test_scan_matches_native_node(op, direction, lengths, initial):
    native = single_node(op, direction, lengths=lengths, initial=initial)
    lowered = onnx.ModelProto()
    lowered.CopyFrom(native)
    assert rewrite(lowered, {op: "scan"}) == [[op, "scan"]]
    onnx.checker.check_model(lowered, full_check=True)
    assert {n.op_type for n in lowered.graph.node} >= {"MatMul", "Scan"}
    assert op not in {n.op_type for n in lowered.graph.node}
    rng = np.random.default_rng(1)
    for batch, time in ((4, 6), (1, 1), (3, 11)):
        feeds = feeds_for(native, batch, time, rng)
        for name, want, got in zip(("Y", "Y_h", "Y_c"), run(native, feeds), run(lowered, feeds)):
            assert got.shape == want.shape, name
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{op} {direction} {name}")


@pytest.mark.parametrize("op,direction", [("RNN", "bidirectional"), ("GRU", "forward"), ("LSTM", "reverse")])
def test_native_masked_matches_native_node(op, direction):
    native = single_node(op, direction)
    if op == "LSTM":  # its final cell state is a graph output: native-masked cannot give it
        with pytest.raises(ExportError, match="final cell state"):
            rewrite(onnx.load_from_string(native.SerializeToString()), {op: "native-masked"})
        auto = onnx.load_from_string(native.SerializeToString())
        assert rewrite(auto, {op: "native-masked"}, strict=False) == [[op, "native"]]
        native.graph.output.pop()  # without Y_c it can
        native.graph.node[0].output.pop()
    lowered = onnx.load_from_string(native.SerializeToString())
    assert rewrite(lowered, {op: "native-masked"}) == [[op, "native-masked"]]
    onnx.checker.check_model(lowered, full_check=True)
    rec = [n for n in lowered.graph.node if n.op_type == op]
    assert rec and all(len(n.input) < 5 or not n.input[4] for n in rec), "sequence_lens must be gone"
    rng = np.random.default_rng(2)
    for batch, time in ((4, 6), (2, 9)):
        feeds = feeds_for(native, batch, time, rng)
        for want, got in zip(run(native, feeds), run(lowered, feeds)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_rnn_relu_and_unsupported_attributes():
    native = single_node("RNN", "bidirectional", activation="Relu")
    lowered = onnx.load_from_string(native.SerializeToString())
    rewrite(lowered, {"RNN": "scan"})
    body_ops = {n.op_type for s in lowered.graph.node if s.op_type == "Scan" for n in s.attribute[0].g.node}
    assert "Relu" in body_ops
    feeds = feeds_for(native, 3, 5, np.random.default_rng(3))
    for want, got in zip(run(native, feeds), run(lowered, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    clipped = single_node("GRU", "forward")
    clipped.graph.node[0].attribute.append(helper.make_attribute("clip", 3.0))
    with pytest.raises(ExportError, match="clip"):
        rewrite(onnx.load_from_string(clipped.SerializeToString()), {"GRU": "scan"})
    assert lower(clipped, "auto")["nodes"] == [["GRU", "native"]]  # auto keeps what it cannot rewrite


@pytest.mark.parametrize("cell,lowering,config", [
    ("rnn", "scan", dict(bidirectional=True, num_layers=2)),
    ("lstm", "scan", dict(num_layers=2)),
    ("gru", "scan", dict(bidirectional=True)),
    ("lstm", "native-masked", dict(bidirectional=True)),
    ("gru", "native-masked", dict(num_layers=2)),
])
def test_export_with_lowering_is_verified(tmp_path, cell, lowering, config):
    composition = seqkit.compose(cell, "classification", seqkit.CellConfig(hidden_size=6, **config),
                                 {"embedding_dim": 4, "pooling": "mean"})
    result = seqkit.export(composition, tmp_path / "m.onnx", lowering=lowering)
    assert result.report.ok, result.report.failures()
    proto = onnx.load(tmp_path / "m.onnx")
    meta = read_metadata(proto)["lowering"]
    layers = config.get("num_layers", 1)
    assert meta == {"requested": lowering, "provider": "cpu", "nodes": [[cell.upper(), lowering]] * layers}
    ops = {n.op_type for n in proto.graph.node}
    assert ("Scan" in ops) == (lowering == "scan")
    for axis in proto.graph.input[0].type.tensor_type.shape.dim:
        assert axis.dim_param in ("batch", "time")


def test_auto_follows_the_rule_per_cell_and_provider(tmp_path):
    for cell in ("rnn", "lstm"):
        composition = seqkit.compose(cell, "classification", seqkit.CellConfig(hidden_size=4), {"embedding_dim": 3})
        proto = seqkit.to_onnx(composition)
        meta = read_metadata(proto)["lowering"]
        assert meta["requested"] == "auto"
        assert meta["nodes"] == [[cell.upper(), AUTO["cpu"][cell.upper()]]]
        cuda = read_metadata(seqkit.to_onnx(composition, provider="cuda"))["lowering"]
        assert cuda["nodes"] == [[cell.upper(), AUTO["cuda"][cell.upper()]]]
    with pytest.raises(ExportError, match="unknown lowering"):
        seqkit.to_onnx(composition, lowering="fast")


def test_one_list_of_lowerings_for_the_cli_the_api_and_the_docs():
    """seqkit.onnx.LOWERINGS is the one definition: export's --lowering choices, bench's help, the API's check
    and every `--lowering a|b|...` the docs spell out."""
    import re
    from pathlib import Path

    from seqkit.cli.bench import bench
    from seqkit.cli.models import export
    from seqkit.onnx import LOWERINGS, NODE_LOWERINGS
    from seqkit.onnx.lowering.rewrite import resolve

    assert LOWERINGS == ("auto", *NODE_LOWERINGS) and "scan" in NODE_LOWERINGS
    (choice,) = [p for p in export.params if p.name == "lowering"]
    assert tuple(choice.type.choices) == LOWERINGS
    (names,) = [p for p in bench.params if p.name == "lowerings"]
    assert ", ".join(LOWERINGS) in names.help
    assert all(set(per_op.values()) <= set(NODE_LOWERINGS) for per_op in AUTO.values())
    for low in NODE_LOWERINGS:
        assert set(resolve(low).values()) == {low}
    with pytest.raises(ExportError, match=f"^unknown lowering 'fast'; choose one of {', '.join(LOWERINGS)}$"):
        resolve("fast")
    spelled = "--lowering " + "|".join(LOWERINGS)
    root = Path(__file__).resolve().parent.parent
    for doc in ("README.md", "docs/export.md", "docs/performance.md"):
        text = (root / doc).read_text()
        assert spelled in text, doc
        assert re.findall(r"--lowering [a-z-]+(?:\|[a-z-]+)+", text) == [spelled] * text.count(spelled), doc
