"""The GPU-facing pieces: node placement, the static host-copy check, IO binding, CUDA graphs.

What needs CUDA (placement on the CUDA provider, graph capture) skips with a reason when onnxruntime has no CUDA
provider; benchmarks/gpu_check.py runs the same on a GPU machine. The rest runs on the CPU.
"""
import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli import cli
from seqkit.core.task import sample_inputs
from seqkit.errors import ProviderError, SeqkitError
from seqkit.onnx.gpu import control_flow, cpu_nodes, host_copies
from seqkit.runtime.bound import BoundSession
from seqkit.runtime.placement import profile_placement
from seqkit.runtime.session import TOLERANCES, open_session

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="onnxruntime has no CUDAExecutionProvider here (CPU build or "
                                                     "no GPU); benchmarks/gpu_check.py covers this on a GPU")
TASKS = {"classification": {"pooling": "mean"}, "forecasting": {}, "speech-frames": {}, "video-frames": {},
         "adding": {}}


def composition(cell="lstm", task="classification", **config):
    return seqkit.compose(cell, task, seqkit.CellConfig(hidden_size=6, **config), TASKS.get(task))


def test_native_lowering_with_lengths_needs_a_host_copy_native_masked_does_not():
    c = composition(bidirectional=True)
    native = seqkit.to_onnx(c, lowering="native")
    assert any("'lengths'" in p and "Memcpy" in p for p in host_copies(native))
    masked = seqkit.to_onnx(c, lowering="native-masked")
    assert host_copies(masked) == [] and control_flow(masked) == []
    scan = seqkit.to_onnx(c, lowering="scan")
    assert control_flow(scan) and all(name.startswith("Scan") for name in control_flow(scan))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_builtin_task_exports_for_cuda_without_host_copies(task):
    proto = seqkit.to_onnx(composition("gru", task), provider="cuda")  # auto: native-masked on cuda
    assert host_copies(proto) == [], task
    assert control_flow(proto) == []


def test_shape_arithmetic_goes_to_the_cpu():
    proto = seqkit.to_onnx(composition("rnn", "classification"), lowering="native-masked")
    placed = cpu_nodes(proto)
    by_name = {n.name: n.op_type for n in proto.graph.node}
    assert placed and {by_name[n] for n in placed} <= {"Concat", "Slice", "Squeeze", "Gather", "Unsqueeze",
                                                        "Cast", "Sub", "Add", "Mul", "Div", "Reshape"}


def test_profiled_placement_on_cpu_counts_every_node(tmp_path):
    c = composition("rnn")
    seqkit.export(c, tmp_path / "r.onnx", lowering="scan")
    feeds = sample_inputs(c.task.inputs(), {"batch": 3, "time": 5}, np.random.default_rng(0))
    placed = profile_placement(str(tmp_path / "r.onnx"), feeds, "cpu")
    assert set(placed.nodes) == {"CPUExecutionProvider"} and placed.total > 5
    assert placed.nodes["CPUExecutionProvider"].get("Scan") == 1 and placed.memcpy == 0
    assert placed.off_provider == [] and placed.cuda_graph_blockers() == [f"control flow node(s): "
                                                                         f"{placed.control_flow[0]}"]


def test_verify_cli_shows_placement(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seqkit.export(composition(), tmp_path / "m.onnx", lowering="native")
    result = CliRunner().invoke(cli, ["verify", "m.onnx", "--placement"])
    assert result.exit_code == 0, result.output
    assert "CPUExecutionProvider:" in result.output and "host<->GPU copy nodes: 0" in result.output
    assert "'lengths' is read on the host" in result.output  # the static check for the CUDA provider
    assert '"requested": "native"' in result.output  # the lowering from the metadata


def bound_runs_agree_with_plain_sessions(path, composition, provider: str, cuda_graph: bool) -> None:
    """Three different inputs at one shape, fed twice in turn through one BoundSession (with a CUDA graph, the later
    runs replay the captured graph): every result, kept until all runs are done, matches plain
    sessions without binding or graphs (on ``provider`` and on the CPU) for ITS input, never another call's; the
    caller's arrays are left as they were."""
    rng = np.random.default_rng(1)
    feeds = [sample_inputs(composition.task.inputs(), {"batch": 4, "time": 16}, rng) for _ in range(3)]
    kept = [{k: v.copy() for k, v in f.items()} for f in feeds]
    bound = BoundSession(str(path), feeds[0], provider=provider, cuda_graph=cuda_graph, threads=1)
    if cuda_graph:  # the session really was asked to capture (a dropped option would make this test a plain run)
        options = bound.session.session.get_provider_options()["CUDAExecutionProvider"]
        assert options.get("enable_cuda_graph") == "1", options
    results = [bound.run(feeds[i % 3]) for i in range(6)]
    assert bound.runs == 6
    for f, k in zip(feeds, kept):
        for name in f:
            np.testing.assert_array_equal(f[name], k[name], err_msg=f"BoundSession wrote into the caller's '{name}'")
    references = {p: open_session(str(path), p, threads=1) for p in dict.fromkeys([provider, "cpu"])}
    # float32 (use_tf32=0, the runtime's default): cuda's bound covers cuda vs cpu; on the CPU, one thread, the same
    # kernels on the same inputs: bit for bit
    atol, rtol = TOLERANCES[provider] if provider != "cpu" else (0.0, 0.0)
    names = [o.name for o in references["cpu"].session.get_outputs()]
    for ref_provider, ref in references.items():
        want = [ref.run(f) for f in kept]
        assert any(not np.allclose(a, b, rtol=rtol, atol=atol) for a, b in zip(want[0], want[1])), \
            "two different inputs gave the same outputs: this check could not tell runs apart"
        for i, got in enumerate(results):
            assert len(got) == len(names), f"run {i + 1}: {len(got)} outputs, the model has {len(names)}"
            for name, g, w in zip(names, got, want[i % 3]):
                np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=(
                    f"run {i + 1} (input {i % 3}), output {name}: {provider} BoundSession (cuda_graph={cuda_graph}) "
                    f"vs a plain {ref_provider} session"))


def test_bound_session_on_cpu_matches_plain_runs_and_keeps_its_shape(tmp_path):
    c = composition("gru")
    seqkit.export(c, tmp_path / "g.onnx")
    bound_runs_agree_with_plain_sessions(tmp_path / "g.onnx", c, "cpu", cuda_graph=False)
    rng = np.random.default_rng(0)
    example = sample_inputs(c.task.inputs(), {"batch": 4, "time": 9}, rng)
    bound = BoundSession(str(tmp_path / "g.onnx"), example, provider="cpu", cuda_graph=False, threads=1)
    with pytest.raises(SeqkitError, match="bound at"):
        bound.run(sample_inputs(c.task.inputs(), {"batch": 2, "time": 9}, rng))
    with pytest.raises(ProviderError, match="CUDA graphs need the CUDA provider"):
        BoundSession(str(tmp_path / "g.onnx"), example, provider="cpu", cuda_graph=True)


@needs_cuda
@pytest.mark.parametrize("task", sorted(TASKS))
def test_cuda_export_runs_entirely_on_the_gpu_and_captures(tmp_path, task):
    c = composition("lstm", task)
    result = seqkit.export(c, tmp_path / "m.onnx", provider="cuda")
    assert result.report.ok
    feeds = sample_inputs(c.task.inputs(), {"batch": 4, "time": 16}, np.random.default_rng(0))
    placed = profile_placement(str(tmp_path / "m.onnx"), feeds, "cuda")
    assert placed.memcpy == 0 and placed.cuda_graph_blockers() == []
    bound_runs_agree_with_plain_sessions(tmp_path / "m.onnx", c, "cuda", cuda_graph=True)
