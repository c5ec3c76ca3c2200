"""Other ways to lower a native ONNX ``RNN`` / ``LSTM`` / ``GRU`` node: the same function, different kernels.

:mod:`seqkit.onnx.lowering.native` writes one native recurrent node per layer. onnxruntime's kernels for
those nodes are not always the fastest way to compute them (on CPU its ``RNN`` kernel runs at a fraction of the
speed of its ``MatMul``), and on the CUDA provider their ``sequence_lens`` input must live on the CPU, which
puts a memory copy into every model with lengths and so rules out CUDA graphs. This module rewrites the
exported graph, node by node, into equivalent subgraphs:

``scan``
    the input projection of all steps as ONE ``MatMul`` (``X @ W^T + b``, both directions at once), then the
    recurrence alone in an ONNX ``Scan`` per direction (a ``Gemm`` and the gate arithmetic per step). Lengths:
    every step is computed, padded outputs are zeroed afterwards and the final state is gathered at each
    sample's last valid step; the reverse direction reads each sequence backwards *within its length*
    (``ReverseSequence``), so padding never reaches a valid value.
``native-masked``
    the native node without ``sequence_lens`` (so every input lives on the GPU), lengths applied around it the
    same way (forward direction: padding comes after the valid steps; reverse direction: a forward node on the
    sequence reversed within its length). LSTM's final *cell* state at the last valid step is not available
    this way: a graph that uses it is refused.

Both keep symbolic batch and time. The rewrite needs the weights as initializers (the exporter folds them).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seqkit.errors import ExportError
from seqkit.onnx import LOWERINGS, NODE_LOWERINGS

RECURRENT_OPS = ("RNN", "LSTM", "GRU")
#: gates per op (rows of W are gates x hidden)
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
#: what ``--lowering auto`` picks (one of :data:`seqkit.onnx.NODE_LOWERINGS`), per provider the model is verified
#: on and per op. Measured with benchmarks/bench_lowering.py (docs/performance.md): on CPU onnxruntime's RNN
#: kernel loses to PyTorch at batch >= 32 while MatMul + Scan wins at every batch; its LSTM and GRU kernels beat
#: the Scan form. On CUDA the native kernels are cuDNN, and only ``native-masked`` leaves no input on the CPU
#: (CUDA graphs need that; they also refuse control flow such as Scan).
AUTO = {"cpu": {"RNN": "scan", "LSTM": "native", "GRU": "native"},
        "cuda": {"RNN": "native-masked", "LSTM": "native-masked", "GRU": "native-masked"}}


class _CannotLower(ExportError):
    """This node cannot take the asked lowering (``auto`` then keeps it native)."""


class _Builder:
    """Collects nodes and initializers with names unique to one rewritten node."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{self.prefix}/{hint}_{self._n}"

    def const(self, value, hint: str = "c", dtype=None) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, value) -> str:
        return self.const(value, "i", dtype=np.int64)

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, hint: str | None = None, outputs=None, **attrs):
        outs = outputs or [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 and not outputs else outs


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _check_supported(node: onnx.NodeProto, attrs: dict) -> None:
    """The rewrite implements the subset of the ONNX ops that seqkit's native lowering writes."""
    what = f"{node.op_type} node '{node.name}'"
    if attrs.get("layout", 0) != 0:
        raise _CannotLower(f"{what} has layout=1; the rewrite expects time-major (layout=0); use --lowering native")
    for unsupported in ("clip", "activation_alpha", "activation_beta"):
        if unsupported in attrs:
            raise _CannotLower(f"{what} uses '{unsupported}', which the rewrite does not implement; use --lowering "
                              f"native")
    if node.op_type == "LSTM" and (attrs.get("input_forget", 0) or (len(node.input) > 7 and node.input[7])):
        raise _CannotLower(f"{what} uses input_forget or peepholes, which the rewrite does not implement; use "
                          f"--lowering native")
    if node.op_type == "GRU" and attrs.get("linear_before_reset", 0) != 1:
        raise _CannotLower(f"{what} has linear_before_reset=0 (not PyTorch's GRU); use --lowering native")
    acts = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
    default = {"RNN": ["Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}[node.op_type]
    per_dir = len(default)
    for d in range(len(acts) // per_dir if acts else 0):
        got = acts[d * per_dir:(d + 1) * per_dir]
        if node.op_type == "RNN" and got[0] in ("Tanh", "Relu"):
            continue
        if got != default:
            raise _CannotLower(f"{what} uses activations {got}, which the rewrite does not implement; use --lowering "
                              f"native")


def _input(node, i: int) -> str:
    return node.input[i] if len(node.input) > i and node.input[i] else ""


def _output(node, i: int) -> str:
    return node.output[i] if len(node.output) > i and node.output[i] else ""


class _Rewriter:
    def __init__(self, graph: onnx.GraphProto, opsets):
        self.graph = graph
        self.opsets = opsets
        self.inits = {t.name: t for t in graph.initializer}
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1
            for attr in node.attribute:  # subgraphs may read outer values by name
                if attr.type == onnx.AttributeProto.GRAPH:
                    for sub in attr.g.node:
                        for name in sub.input:
                            self.consumers[name] = self.consumers.get(name, 0) + 1
        for out in graph.output:
            self.consumers[out.name] = self.consumers.get(out.name, 0) + 1

    def used(self, name: str) -> bool:
        return bool(name) and self.consumers.get(name, 0) > 0

    def weight(self, node, i: int) -> np.ndarray:
        """The value of input ``i`` of ``node``, which must be computed from initializers alone."""
        name = _input(node, i)
        value = self.constant(name)
        if value is None:
            raise _CannotLower(f"{node.op_type} node '{node.name}': input {i} ('{name}') is not constant; the "
                              f"rewrite needs constant weights; use --lowering native")
        return value

    def constant(self, name: str) -> np.ndarray | None:
        """``name``'s value if it depends on initializers only (the exporter leaves e.g. an Unsqueeze of a large
        weight unfolded), else None."""
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        nodes, leaves, todo = [], set(), [name]
        while todo:
            value = todo.pop()
            if value in self.inits:
                leaves.add(value)
                continue
            node = self.producer.get(value)
            if node is None or node.op_type in RECURRENT_OPS or any(
                    a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
                return None
            if node not in nodes:
                nodes.append(node)
                todo.extend(i for i in node.input if i)
        from onnx.reference import ReferenceEvaluator

        order = [n for n in self.graph.node if n in nodes]  # graph order is topological
        graph = helper.make_graph(order, "const", [], [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)],
                                  initializer=[self.inits[v] for v in sorted(leaves)])
        model = helper.make_model(graph, opset_imports=list(self.opsets))
        return np.asarray(ReferenceEvaluator(model).run(None, {})[0])

    # -- shared pieces --------------------------------------------------------------------------------------
    def common(self, b: _Builder, x: str, seq: str):
        """(time, batch) as 1-D int64 tensors, and (lens int64 [B], mask [T, B, 1] bool) when ``seq`` is given."""
        shape = b.op("Shape", [x], hint="shape")
        time = b.op("Slice", [shape, b.ints([0]), b.ints([1])], hint="time")
        batch = b.op("Slice", [shape, b.ints([1]), b.ints([2])], hint="batch")
        if not seq:
            return time, batch, None, None
        lens = b.op("Cast", [seq], to=TensorProto.INT64, hint="lens")
        steps = b.op("Range", [b.ints(0), b.op("Squeeze", [time], hint="t"),
                               b.ints(1)], hint="steps")
        valid = b.op("Less", [b.op("Unsqueeze", [steps, b.ints([1])]),
                              b.op("Unsqueeze", [lens, b.ints([0])])], hint="valid")
        mask = b.op("Unsqueeze", [valid, b.ints([2])], hint="mask")
        return time, batch, lens, mask

    def last_valid(self, b: _Builder, seq_all: str, lens: str, hidden: int) -> str:
        """``seq_all`` [T, B, H] at each sample's step ``lens - 1`` -> [B, H]."""
        idx = b.op("Sub", [lens, b.ints(1)], hint="last")
        idx = b.op("Unsqueeze", [idx, b.ints([0, 2])], hint="last")          # [1, B, 1]
        shape = b.op("Concat", [b.ints([1]), b.op("Shape", [lens]), b.ints([hidden])],
                     axis=0, hint="shape")
        idx = b.op("Expand", [idx, shape], hint="last")                                        # [1, B, H]
        got = b.op("GatherElements", [seq_all, idx], axis=0, hint="final")
        return b.op("Squeeze", [got, b.ints([0])], hint="final")

    def initial(self, b: _Builder, node, index: int, d: int, batch: str, hidden: int) -> str:
        """Initial state of direction ``d`` as [B, H] (zeros when the node has none)."""
        name = _input(node, index)
        if name:
            return b.op("Squeeze", [b.op("Slice", [name, b.ints([d]), b.ints([d + 1])]),
                                    b.ints([0])], hint="init")
        shape = b.op("Concat", [batch, b.ints([hidden])], axis=0, hint="shape")
        return b.op("ConstantOfShape", [shape], value=numpy_helper.from_array(np.zeros(1, np.float32)), hint="zeros")

    def finish(self, b: _Builder, node, ys: list[str], hs: list[str], cs: list[str]) -> None:
        """Write the node's outputs: Y [T, D, B, H], Y_h [D, B, H], Y_c [D, B, H]."""
        axis1 = b.ints([1])
        axis0 = b.ints([0])
        if _output(node, 0):
            parts = [b.op("Unsqueeze", [y, axis1]) for y in ys]
            b.op("Concat" if len(parts) > 1 else "Identity", parts, outputs=[_output(node, 0)],
                 **({"axis": 1} if len(parts) > 1 else {}))
        for i, finals in ((1, hs), (2, cs)):
            if _output(node, i):
                parts = [b.op("Unsqueeze", [f, axis0]) for f in finals]
                b.op("Concat" if len(parts) > 1 else "Identity", parts, outputs=[_output(node, i)],
                     **({"axis": 0} if len(parts) > 1 else {}))

    # -- scan -----------------------------------------------------------------------------------------------
    def to_scan(self, node: onnx.NodeProto) -> _Builder:
        attrs = _attrs(node)
        _check_supported(node, attrs)
        op = node.op_type
        hidden = int(attrs["hidden_size"])
        gates = GATES[op]
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        dirs = 2 if direction == "bidirectional" else 1
        acts = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
        W, R = self.weight(node, 1), self.weight(node, 2)          # [D, G*H, I], [D, G*H, H]
        B = self.weight(node, 3) if _input(node, 3) else np.zeros((dirs, 2 * gates * hidden), np.float32)
        b = _Builder(node.name or f"{op}_{id(node)}")
        x, seq = node.input[0], _input(node, 4)
        time, batch, lens, mask = self.common(b, x, seq)
        # one projection for all steps and directions: [T, B, I] @ [I, D*G*H]
        wb, rb = B[:, :gates * hidden], B[:, gates * hidden:]
        proj_bias = wb + (rb if op != "GRU" else np.concatenate([rb[:, :2 * hidden], 0 * rb[:, 2 * hidden:]], 1))
        w_t = np.concatenate([W[d].T for d in range(dirs)], axis=1).astype(np.float32)
        xw = b.op("MatMul", [x, b.const(w_t, "W_t")], hint="xw")
        xw = b.op("Add", [xw, b.const(proj_bias.reshape(-1).astype(np.float32), "bias")], hint="xw")
        if dirs == 2:
            xws = b.op("Split", [xw, b.ints([gates * hidden] * 2)], n_out=2, axis=2, hint="xw_d")
        else:
            xws = [xw]
        need_c = op == "LSTM" and bool(_output(node, 2))
        ys, hs, cs = [], [], []
        for d in range(dirs):
            reverse = d == 1 or direction == "reverse"
            act = (acts[d] if len(acts) > d else "Tanh") if op == "RNN" else None
            body = _scan_body(op, hidden, R[d].T.astype(np.float32),
                              rb[d, 2 * hidden:].astype(np.float32) if op == "GRU" else None, act, need_c,
                              f"{b.prefix}/body{d}")
            states = [self.initial(b, node, 5, d, batch, hidden)]
            if op == "LSTM":
                states.append(self.initial(b, node, 6, d, batch, hidden))
            seq_in = xws[d]
            scan_attrs = {"body": body, "num_scan_inputs": 1}
            if reverse and lens is not None:
                seq_in = b.op("ReverseSequence", [seq_in, lens], batch_axis=1, time_axis=0, hint="rev")
            elif reverse:
                scan_attrs["scan_input_directions"] = [1]
                scan_attrs["scan_output_directions"] = [1] * (2 if need_c else 1)
            n_state = len(states)
            outs = b.op("Scan", [*states, seq_in], n_out=n_state + 1 + int(need_c), hint="scan", **scan_attrs)
            finals, y_all = outs[:n_state], outs[n_state]
            c_all = outs[n_state + 1] if need_c else None
            if lens is None:
                ys.append(y_all)
                hs.append(finals[0])
                if need_c:
                    cs.append(finals[1])
                continue
            h_final = self.last_valid(b, y_all, lens, hidden)
            c_final = self.last_valid(b, c_all, lens, hidden) if need_c else None
            if reverse:
                y_all = b.op("ReverseSequence", [y_all, lens], batch_axis=1, time_axis=0, hint="unrev")
            ys.append(b.op("Where", [mask, y_all, b.const(np.zeros(1, np.float32))], hint="y"))
            hs.append(h_final)
            if need_c:
                cs.append(c_final)
        self.finish(b, node, ys, hs, cs)
        return b

    # -- native without sequence_lens ---------------------------------------------------------------------
    def to_masked(self, node: onnx.NodeProto) -> _Builder:
        attrs = _attrs(node)
        _check_supported(node, attrs)
        op = node.op_type
        seq = _input(node, 4)
        b = _Builder(node.name or f"{op}_{id(node)}")
        if not seq:  # nothing to move: the node already has no CPU-side input
            b.nodes.append(node)
            return b
        if op == "LSTM" and self.used(_output(node, 2)):
            raise _CannotLower(f"LSTM node '{node.name}': its final cell state is used, and --lowering native-masked "
                               f"cannot give it at each sample's last step; use --lowering native or scan")
        hidden = int(attrs["hidden_size"])
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        dirs = 2 if direction == "bidirectional" else 1
        acts = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
        per_dir = len(acts) // dirs if acts else 0
        x = node.input[0]
        _, _, lens, mask = self.common(b, x, seq)
        ys, hs = [], []
        for d in range(dirs):
            reverse = d == 1 or direction == "reverse"
            sl = [b.ints([d]), b.ints([d + 1])]
            ins = [b.op("ReverseSequence", [x, lens], batch_axis=1, time_axis=0, hint="rev") if reverse else x]
            def per_direction(i: int, hint: str, sl=sl) -> str:
                name = _input(node, i)
                if not name or dirs == 1:
                    return name
                return b.op("Slice", [name, *sl], hint=hint)

            ins += [per_direction(1, "w"), per_direction(2, "r"), per_direction(3, "b")]
            ins.append("")  # no sequence_lens
            ins += [per_direction(5, "h0")] + ([per_direction(6, "c0")] if op == "LSTM" else [])
            while ins and not ins[-1]:
                ins.pop()
            new_attrs = {k: v for k, v in attrs.items() if k not in ("direction", "activations")}
            new_attrs["direction"] = "forward"
            if acts:
                new_attrs["activations"] = acts[d * per_dir:(d + 1) * per_dir]
            y = b.op(op, ins, hint="y", **new_attrs)                           # [T, 1, B, H]
            y = b.op("Squeeze", [y, b.ints([1])], hint="y")    # [T, B, H]
            hs.append(self.last_valid(b, y, lens, hidden))
            if reverse:
                y = b.op("ReverseSequence", [y, lens], batch_axis=1, time_axis=0, hint="unrev")
            ys.append(b.op("Where", [mask, y, b.const(np.zeros(1, np.float32))], hint="y"))
        self.finish(b, node, ys, hs, [])
        return b


def _scan_body(op: str, hidden: int, r_t: np.ndarray, rbh: np.ndarray | None, act: str | None, need_c: bool,
               prefix: str) -> onnx.GraphProto:
    """One step of the recurrence: state(s) and the projected input x_t [B, G*H] -> new state(s), y_t (, c_t)."""
    b = _Builder(prefix)
    f32 = TensorProto.FLOAT

    def vi(name):
        return helper.make_tensor_value_info(name, f32, [None, None])  # [batch, hidden] or [batch, gates*hidden]

    h, xw = f"{prefix}/h", f"{prefix}/x_t"
    inputs = [vi(h)]
    if op == "LSTM":
        c = f"{prefix}/c"
        inputs.append(vi(c))
    inputs.append(vi(xw))
    r_name = b.const(r_t, "R_t")
    if op == "RNN":
        pre = b.op("Gemm", [h, r_name, xw], hint="pre")
        h_new = b.op(act or "Tanh", [pre], hint="h")
        outs = [h_new, b.op("Identity", [h_new], hint="y")]
    elif op == "LSTM":
        g = b.op("Gemm", [h, r_name, xw], hint="gates")                                 # i, o, f, c (ONNX order)
        iof, cc = b.op("Split", [g, b.ints([3 * hidden, hidden])], n_out=2, axis=1, hint="g")
        i_g, o_g, f_g = b.op("Split", [b.op("Sigmoid", [iof])], n_out=3, axis=1, hint="g",
                             num_outputs=3)
        c_new = b.op("Add", [b.op("Mul", [f_g, c]), b.op("Mul", [i_g, b.op("Tanh", [cc])])], hint="c")
        h_new = b.op("Mul", [o_g, b.op("Tanh", [c_new])], hint="h")
        outs = [h_new, c_new, b.op("Identity", [h_new], hint="y")]
        if need_c:
            outs.append(b.op("Identity", [c_new], hint="c_out"))
    else:  # GRU, linear_before_reset=1: n = tanh(x_n + r * (h @ R_n^T + Rb_n))
        bias = np.concatenate([np.zeros(2 * hidden, np.float32), rbh]).astype(np.float32)
        hr = b.op("Gemm", [h, r_name, b.const(bias, "Rb")], hint="hr")
        split = b.ints([2 * hidden, hidden])
        x_zr, x_n = b.op("Split", [xw, split], n_out=2, axis=1, hint="x")
        h_zr, h_n = b.op("Split", [hr, split], n_out=2, axis=1, hint="hr")
        z, r = b.op("Split", [b.op("Sigmoid", [b.op("Add", [x_zr, h_zr])])], n_out=2, axis=1, hint="zr",
                    num_outputs=2)
        n = b.op("Tanh", [b.op("Add", [x_n, b.op("Mul", [r, h_n])])], hint="n")
        h_new = b.op("Add", [n, b.op("Mul", [z, b.op("Sub", [h, n])])], hint="h")     # (1 - z) * n + z * h
        outs = [h_new, b.op("Identity", [h_new], hint="y")]
    return helper.make_graph(b.nodes, f"{prefix}", inputs, [vi(o) for o in outs], initializer=b.inits)


def recurrent_nodes(proto: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in proto.graph.node if n.op_type in RECURRENT_OPS and n.domain in ("", "ai.onnx")]


def resolve(lowering: str, provider: str = "cpu") -> dict[str, str]:
    """``--lowering`` as ``{op type: lowering}``; ``auto`` follows :data:`AUTO` for ``provider``."""
    if lowering == "auto":
        return dict(AUTO.get(provider, AUTO["cpu"]))
    if lowering not in NODE_LOWERINGS:
        raise ExportError(f"unknown lowering {lowering!r}; choose one of {', '.join(LOWERINGS)}")
    return dict.fromkeys(RECURRENT_OPS, lowering)


def lower(proto: onnx.ModelProto, lowering: str = "auto", provider: str = "cpu") -> dict:
    """Rewrite ``proto``'s native recurrent nodes as ``lowering`` asks (in place); returns what was done, for the
    file's metadata: ``{"requested": ..., "provider": ..., "nodes": [[op type, lowering], ...]}``.

    An explicit lowering that a node cannot take is an :class:`ExportError`; ``auto`` keeps that node native.
    """
    choice = resolve(lowering, provider)
    drop_zero_states(proto)
    done = rewrite(proto, choice, strict=lowering != "auto")
    return {"requested": lowering, "provider": provider, "nodes": done}


def drop_zero_states(proto: onnx.ModelProto) -> int:
    """Remove ``initial_h`` / ``initial_c`` inputs of native recurrent nodes that are all zeros (a
    ``ConstantOfShape`` of 0, possibly sliced per layer): a missing initial state IS zeros in ONNX, and the
    nodes that built it cost a kernel each per call on a GPU. Returns how many inputs were removed."""
    graph = proto.graph
    producer = {o: n for n in graph.node for o in n.output if o}

    def zeros(name: str) -> bool:
        node = producer.get(name)
        while node is not None and node.op_type in ("Slice", "Identity"):
            node = producer.get(node.input[0])
        if node is None or node.op_type != "ConstantOfShape":
            return False
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        return value is None or not np.any(numpy_helper.to_array(value))

    removed = 0
    for node in recurrent_nodes(proto):
        for i in (5, 6):
            if len(node.input) > i and node.input[i] and zeros(node.input[i]):
                node.input[i] = ""
                removed += 1
        while node.input and not node.input[-1]:
            node.input.pop()
    if removed:
        _set_live(graph, list(graph.node))
    return removed


def rewrite(proto: onnx.ModelProto, choice: dict[str, str], strict: bool = True) -> list[list[str]]:
    """Lower each native recurrent node of ``proto`` as ``choice[op_type]`` (``native`` keeps it), in place.

    Returns ``[op type, lowering]`` per recurrent node, in graph order. Node order stays topological (each node
    is replaced where it stood). With ``strict=False`` a node that cannot take its lowering stays native.
    """
    for op, how in choice.items():
        if how not in NODE_LOWERINGS:
            raise ExportError(f"unknown lowering {how!r} for {op}; choose one of {', '.join(NODE_LOWERINGS)}")
    graph = proto.graph
    nodes = recurrent_nodes(proto)
    if not any(choice.get(n.op_type, "native") != "native" for n in nodes):
        return [[n.op_type, "native"] for n in nodes]
    rw = _Rewriter(graph, proto.opset_import)
    new_nodes, new_inits, done = [], [], []
    for node in graph.node:
        recurrent = node.op_type in RECURRENT_OPS and node.domain in ("", "ai.onnx")
        how = choice.get(node.op_type, "native") if recurrent else "native"
        if how != "native":
            try:
                built = rw.to_scan(node) if how == "scan" else rw.to_masked(node)
            except _CannotLower:
                if strict:
                    raise
                how = "native"
        if recurrent:
            done.append([node.op_type, how])
        if how == "native":
            new_nodes.append(node)
            continue
        new_nodes.extend(built.nodes)
        new_inits.extend(built.inits)
    graph.initializer.extend(new_inits)
    _set_live(graph, new_nodes)
    return done


def _inputs_of(node: onnx.NodeProto) -> set[str]:
    """Every value ``node`` reads, including outer-scope values read by its subgraphs."""
    names = {i for i in node.input if i}
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            for sub in attr.g.node:
                names |= _inputs_of(sub)
    return names


def _set_live(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Put ``nodes`` into ``graph`` without the ones whose outputs nothing reads (e.g. an Unsqueeze of a weight
    that only the replaced node used), and drop initializers nothing reads."""
    needed = {o.name for o in graph.output}
    live = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            live.append(node)
            needed |= _inputs_of(node)
    del graph.node[:]
    graph.node.extend(reversed(live))
    keep = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(keep)
