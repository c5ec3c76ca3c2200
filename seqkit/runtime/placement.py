"""Where onnxruntime ran each node: read from its own profile (numpy + onnxruntime only, no torch, no onnx).

onnxruntime decides per node which execution provider runs it; with the CUDA provider some nodes still run on
the CPU (shape arithmetic, inputs a CUDA kernel reads from host memory) and copies (``MemcpyToHost`` /
``MemcpyFromHost``) are inserted where data crosses. Its profiler records the provider of every node it
executes, so one profiled run tells the truth for this onnxruntime build and this model.

CUDA graphs (``enable_cuda_graph``) need a main graph with no copies and no control flow (Scan/Loop/If) --
onnxruntime refuses the session otherwise; CPU-placed shape nodes are allowed.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field

import onnxruntime as ort

from seqkit.runtime.providers import PROVIDERS
from seqkit.runtime.session import open_session

MEMCPY = ("MemcpyToHost", "MemcpyFromHost")
CONTROL_FLOW = ("Scan", "Loop", "If")


@dataclass
class Placement:
    provider: str                                   # what was asked for: cpu or cuda
    providers_used: list[str]
    nodes: dict[str, dict[str, int]] = field(default_factory=dict)   # execution provider -> op type -> count
    off_provider: list[str] = field(default_factory=list)            # "OpType name" of nodes not on `provider`
    memcpy: int = 0
    control_flow: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(sum(ops.values()) for ops in self.nodes.values())

    def cuda_graph_blockers(self) -> list[str]:
        """Why onnxruntime would refuse CUDA graphs for this model (empty: it would accept)."""
        reasons = []
        if self.memcpy:
            reasons.append(f"{self.memcpy} memory copy node(s) between CPU and GPU")
        if self.control_flow:
            reasons.append(f"control flow node(s): {', '.join(self.control_flow)}")
        return reasons

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total"] = self.total
        d["cuda_graph_blockers"] = self.cuda_graph_blockers()
        return d


def profile_placement(model: str | bytes, feeds: dict, provider: str = "cpu", **session_kw) -> Placement:
    """Run ``model`` once on ``provider`` with onnxruntime's profiler on and count executed nodes per provider.

    ``control_flow`` is filled from the profile's op types (Scan, Loop, If ran on some provider).
    """
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="seqkit-profile-") as tmp:
        options.profile_file_prefix = os.path.join(tmp, "profile")
        sess = open_session(model, provider, options=options, **session_kw)
        sess.run(feeds)
        path = sess.session.end_profiling()
        with open(path) as f:
            events = json.load(f)
    wanted = PROVIDERS[provider]
    nodes: dict[str, Counter] = {}
    placement = Placement(provider, sess.providers_used)
    seen = set()
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") != "Node" or "provider" not in args or "op_name" not in args:
            continue
        name = event.get("name", "").removesuffix("_kernel_time")
        if name in seen:  # one event per node and run phase; count each node once
            continue
        seen.add(name)
        op, ep = args["op_name"], args["provider"]
        nodes.setdefault(ep, Counter())[op] += 1
        if op in MEMCPY:
            placement.memcpy += 1
        elif ep != wanted:
            placement.off_provider.append(f"{op} {name}")
        if op in CONTROL_FLOW:
            placement.control_flow.append(f"{op} {name}")
    placement.nodes = {ep: dict(sorted(ops.items())) for ep, ops in nodes.items()}
    return placement
