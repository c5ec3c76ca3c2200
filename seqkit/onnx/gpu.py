"""Will a graph run on onnxruntime's CUDA provider without host copies? A static check, runnable without a GPU.

Some CUDA kernels in onnxruntime read an input from host memory (``InputMemoryType(OrtMemTypeCPUInput, i)`` in
``onnxruntime/core/providers/cuda``): shapes, axes, ``Range``'s bounds -- and ``sequence_lens`` of
``RNN``/``LSTM``/``GRU``. Values computed only from shapes (``Shape`` outputs, which the CUDA provider keeps on
the host) and constants feed such inputs freely. A value computed from *input data* (e.g. the ``lengths`` input)
that reaches such an input has to be copied from the GPU, so onnxruntime inserts a ``MemcpyToHost`` -- and then
refuses CUDA graphs. Likewise a shape-derived host value used as ordinary data by a GPU node needs a
``MemcpyFromHost``.

:func:`host_copies` finds both kinds in an ONNX graph. It mirrors onnxruntime's rules for the ops seqkit's
graphs use; the proof is onnxruntime's own placement on a GPU (:mod:`seqkit.runtime.placement`,
benchmarks/gpu_check.py).
"""
from __future__ import annotations

import onnx

#: op type -> input indices that onnxruntime's CUDA kernels read from host memory (opsets 13+)
CUDA_HOST_INPUTS = {
    "RNN": (4,), "LSTM": (4,), "GRU": (4,),
    "Reshape": (1,), "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,), "Range": (0, 1, 2),
    "Slice": (1, 2, 3, 4), "Squeeze": (1,), "Unsqueeze": (1,), "Split": (1,), "Pad": (1, 2, 3),
    "ReduceSum": (1,), "ReduceMean": (1,), "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,),
    "ReduceL2": (1,), "ReduceLogSumExp": (1,), "TopK": (1,), "OneHot": (1,), "CumSum": (1,), "Trilu": (1,),
    "Resize": (1, 2, 3), "Upsample": (1,),
}
#: ops whose CUDA kernels write their output to host memory (shape facts, not data)
CUDA_HOST_OUTPUTS = ("Shape", "Size")
#: onnxruntime lets a node fall back to the CPU when its constant inputs have at most this many elements
SMALL_INITIALIZER = 100


def _sizes(graph: onnx.GraphProto) -> dict[str, int]:
    sizes = {}
    for t in graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        sizes[t.name] = n
    for node in graph.node:
        if node.op_type == "Constant":
            sizes[node.output[0]] = 1  # seqkit's graphs hold scalars and short shapes in Constant nodes
    return sizes


def cpu_nodes(proto: onnx.ModelProto) -> set[str]:
    """Names of main-graph nodes onnxruntime's CUDA provider hands to the CPU.

    A transcription of onnxruntime's ``GetCpuPreferredNodes`` (core/framework/fallback_cpu_capability.cc,
    1.31): forward from host outputs (``Shape``), a consumer whose inputs are all small constants, graph inputs
    or host values that its CUDA kernel would not read on the host anyway goes to the CPU; backward from
    host-read inputs, a producer whose outputs are all host values goes to the CPU and makes its inputs host
    values. Every node is assumed to have a CUDA kernel (true for the ops seqkit writes).
    """
    graph = proto.graph
    sizes = _sizes(graph)
    graph_inputs = {i.name for i in graph.input}
    order = {n.name: k for k, n in enumerate(graph.node)}
    producer = {o: n for n in graph.node for o in n.output if o}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for name in n.input:
            if name:
                consumers.setdefault(name, []).append(n)
    cpu_args: set[str] = set()
    fw, bw = [], []
    for n in graph.node:
        if n.op_type in CUDA_HOST_OUTPUTS:
            cpu_args.update(n.output)
            fw += [c.name for o in n.output for c in consumers.get(o, [])]
        for i in CUDA_HOST_INPUTS.get(n.op_type, ()):
            if i < len(n.input) and n.input[i]:
                cpu_args.add(n.input[i])
                if n.input[i] in producer:
                    bw.append(producer[n.input[i]].name)
    by_name = {n.name: n for n in graph.node}
    placed: set[str] = set()
    visited: set[str] = set()
    while fw:
        fw.sort(key=lambda name: order[name])
        cur = fw.pop(0)
        if cur in visited:
            continue
        visited.add(cur)
        node = by_name[cur]
        pinned = CUDA_HOST_INPUTS.get(node.op_type, ())
        ok = True
        for i, name in enumerate(node.input):
            if not name:
                continue
            if sizes.get(name, SMALL_INITIALIZER + 1) <= SMALL_INITIALIZER or name in graph_inputs:
                continue
            if name not in cpu_args or i in pinned:
                ok = False
                break
        if ok:
            placed.add(cur)
            cpu_args.update(node.output)
            fw += [c.name for o in node.output for c in consumers.get(o, [])]
    visited.clear()
    while bw:
        bw.sort(key=lambda name: -order[name])
        cur = bw.pop(0)
        if cur in visited or cur in placed:
            continue
        visited.add(cur)
        node = by_name[cur]
        if node.op_type in CUDA_HOST_OUTPUTS or not all(o in cpu_args for o in node.output if o):
            continue
        placed.add(cur)
        cpu_args.update(i for i in node.input if i)
        bw += [producer[i].name for i in node.input if i in producer]
    return placed


def host_copies(proto: onnx.ModelProto) -> list[str]:
    """Where onnxruntime's CUDA provider would copy between host and GPU in ``proto``'s main graph (one line
    each: the node, the input, which way); empty: no copy node, as CUDA graphs need."""
    graph = proto.graph
    on_cpu = cpu_nodes(proto)
    initializers = {t.name for t in graph.initializer} | {o for n in graph.node if n.op_type == "Constant"
                                                         for o in n.output}
    graph_inputs = {i.name for i in graph.input}
    where: dict[str, str] = {}
    for n in graph.node:
        side = "host" if n.name in on_cpu or n.op_type in CUDA_HOST_OUTPUTS else "gpu"
        where.update({o: side for o in n.output if o})
    problems = []
    input_needs: dict[str, set[str]] = {name: set() for name in graph_inputs}
    for n in graph.node:
        pinned = CUDA_HOST_INPUTS.get(n.op_type, ())
        for i, name in enumerate(n.input):
            if not name or name in initializers:
                continue  # initializers are placed where they are read, at load time
            need = "host" if n.name in on_cpu or i in pinned else "gpu"
            if name in input_needs:
                input_needs[name].add(need)
            elif where.get(name) != need:
                way = "MemcpyToHost" if need == "host" else "MemcpyFromHost"
                problems.append(f"{n.op_type} node '{n.name}' reads '{name}' on the {need}, where it is not: a {way}")
    for name, needs in input_needs.items():
        if needs == {"host", "gpu"}:
            problems.append(f"input '{name}' is read on the host (e.g. as sequence_lens) and on the GPU: a Memcpy")
    return problems


def control_flow(proto: onnx.ModelProto) -> list[str]:
    """Main-graph nodes with subgraphs (CUDA graphs refuse them)."""
    return [f"{n.op_type} '{n.name}'" for n in proto.graph.node
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in n.attribute)]
