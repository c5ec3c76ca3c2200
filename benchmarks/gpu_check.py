"""GPU check for seqkit on onnxruntime's CUDA provider: placement, CUDA graphs, latency against torch cuDNN.

Run on a CUDA machine with onnxruntime-gpu (see benchmarks/gpu_check.sh, which sets the paths up):

    bash benchmarks/gpu_check.sh                     # ~3-5 minutes on an H100/H200
    python benchmarks/gpu_check.py --cpu-dry-run     # here, without CUDA: the same steps on the CPU, small sizes

1. every built-in task (and the plugins/ packages) x rnn, lstm, gru: export with ``--provider cuda`` (lowering
   auto -> native-masked), verified against PyTorch on the CUDA provider; onnxruntime's node placement (from its
   profiler): nodes per provider, copy nodes, and whether a CUDA-graph session captures and replays correctly;
   the static prediction (seqkit.onnx.gpu) next to it; one row with ``--lowering native`` to show what changed;
2. LSTM B=1 T=100 H=512 per call: onnxruntime plain run, IO-bound, IO-bound + CUDA graph, and torch cuDNN;
3. B >= 32 (64x100 and 256x500, H=512), rnn/lstm/gru: torch cuDNN vs onnxruntime at matched precision, float32
   and TF32 on both sides.

Prints tables and writes gpu_check.json and gpu_check.md into --out (default: $OUT or .). Without CUDA (and
without --cpu-dry-run) it prints what is missing and exits with code 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = {"classification": {"pooling": "mean"}, "forecasting": {}, "speech-frames": {}, "video-frames": {},
         "adding": {}}
PLUGIN_ROWS = [("indrnn", "classification", {"pooling": "mean"}), ("lstm", "tagging", {})]


def ensure_importable() -> list[str]:
    """seqkit from this checkout, its built-in plugins' entry points (and plugins/*) even when not pip-installed."""
    sys.path.insert(0, str(ROOT))
    for src in sorted(ROOT.glob("plugins/*/src")):
        sys.path.insert(0, str(src))
    from importlib import metadata

    notes = []
    try:
        metadata.distribution("seqkit")
        return notes
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    meta_root = Path(tempfile.mkdtemp(prefix="seqkit-gpu-check-"))
    for project in [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]:
        data = tomllib.loads(project.read_text())["project"]
        name = data["name"]
        version = data.get("version") or _seqkit_version()
        info = meta_root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        eps = data.get("entry-points", {}).get("seqkit", {})
        (info / "entry_points.txt").write_text("[seqkit]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    sys.path.insert(0, str(meta_root))
    importlib.invalidate_caches()
    notes.append(f"seqkit not installed: entry points registered from pyproject.toml files in {meta_root}")
    return notes


def _seqkit_version() -> str:
    ns: dict = {}
    exec((ROOT / "seqkit" / "_version.py").read_text(), ns)
    return ns["__version__"]


def environment(provider: str) -> dict:
    import onnxruntime as ort
    import torch

    env = {"date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(), "torch": torch.__version__,
           "onnxruntime": ort.__version__, "ort_providers": ort.get_available_providers(), "provider": provider,
           "cpu": platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version()
    return env


# -- 1. export, verify, placement, CUDA graphs ------------------------------------------------------------------
def check_exports(provider: str, workdir: Path, quick: bool) -> list[dict]:
    import numpy as np
    import onnx

    import seqkit
    from seqkit.core.task import sample_inputs
    from seqkit.errors import described
    from seqkit.onnx.gpu import control_flow, host_copies
    from seqkit.runtime.bound import BoundSession
    from seqkit.runtime.placement import profile_placement

    rows = []
    combos = [(cell, task, cfg, "auto") for task, cfg in TASKS.items() for cell in ("rnn", "lstm", "gru")]
    combos.append(("lstm", "classification", TASKS["classification"], "native"))
    combos += [(cell, task, cfg, "auto") for cell, task, cfg in PLUGIN_ROWS]
    if quick:
        combos = combos[:4] + combos[-3:]
    for cell, task, cfg, lowering in combos:
        row = {"cell": cell, "task": task, "lowering": lowering}
        try:
            c = seqkit.compose(cell, task, seqkit.CellConfig(hidden_size=32, bidirectional=cell != "indrnn"), cfg)
        except Exception as exc:  # a plugin that is not there
            row["error"] = f"compose: {exc}"
            rows.append(row)
            continue
        path = workdir / f"{cell}-{task}-{lowering}.onnx"
        try:
            result = seqkit.export(c, path, provider=provider, lowering=lowering, force=True)
            rep = result.report
            row["verified"] = rep.ok
            row["max_abs_err"] = max(ch.max_abs for ch in rep.checks)
            proto = onnx.load(path)
            meta = json.loads(next(p.value for p in proto.metadata_props if p.key == "seqkit.lowering"))
            row["lowering_used"] = sorted({how for _, how in meta["nodes"]}) or ["(no native nodes)"]
            row["predicted_copies"] = len(host_copies(proto))
            row["predicted_control_flow"] = len(control_flow(proto))
            feeds = sample_inputs(c.task.inputs(), {"batch": 4, "time": 16}, np.random.default_rng(0))
            placed = profile_placement(str(path), feeds, provider)
            row["nodes"] = {ep.replace("ExecutionProvider", ""): sum(ops.values()) for ep, ops in placed.nodes.items()}
            row["off_provider"] = placed.off_provider
            row["memcpy"] = placed.memcpy
            row["graph_blockers"] = placed.cuda_graph_blockers()
            other = sample_inputs(c.task.inputs(), {"batch": 4, "time": 16}, np.random.default_rng(1))
            row["cuda_graph"] = _capture(BoundSession, path, [feeds, other], provider)
        except Exception as exc:
            row["error"] = described(exc)
        rows.append(row)
        print(_row_line(row), flush=True)
    return rows


def _capture(BoundSession, path, inputs: list[dict], provider) -> str:
    """'replays' when a CUDA-graph session captures and each replay, on different inputs in turn (a replay must
    not return an earlier call's result), equals a plain CUDA run on the same inputs; else the reason."""
    import numpy as np

    from seqkit.errors import described
    from seqkit.runtime.session import open_session

    if provider != "cuda":
        return "n/a (cpu)"
    try:
        bound = BoundSession(str(path), inputs[0], provider="cuda", cuda_graph=True)
        replays = [bound.run(feeds) for feeds in inputs + inputs]  # captured on the first, replayed after
    except Exception as exc:
        return "refused: " + described(exc)[:160]
    plain = open_session(str(path), "cuda")
    wanted = [plain.run(feeds) for feeds in inputs + inputs]
    same = all(np.allclose(g, w, rtol=1e-4, atol=1e-5) for got, want in zip(replays, wanted) for g, w in zip(got, want))
    return "replays" if same else "replays, but outputs differ from a plain run on the same inputs"


def _row_line(row: dict) -> str:
    if "error" in row:
        return f"  {row['cell']:7} {row['task']:15} {row['lowering']:7} ERROR {row['error']}"
    return (f"  {row['cell']:7} {row['task']:15} {row['lowering']:7} verified={row['verified']} "
            f"err={row['max_abs_err']:.1e} nodes={row['nodes']} memcpy={row['memcpy']} "
            f"predicted_copies={row['predicted_copies']} cuda_graph={row['cuda_graph']}")


# -- 2./3. latency ------------------------------------------------------------------------------------------------
def _torch_fn(model, inputs, device):
    import torch

    def run():
        with torch.inference_mode():
            model(*inputs)
        if device == "cuda":
            torch.cuda.synchronize()
    return run


def latency(provider: str, workdir: Path, quick: bool) -> tuple[list[dict], list[dict]]:
    import torch

    import seqkit
    from seqkit.onnx.bench import time_interleaved
    from seqkit.runtime.bound import BoundSession
    from seqkit.runtime.session import open_session

    device = "cuda" if provider == "cuda" else "cpu"
    hidden = 64 if quick else 512
    repeats = 5 if quick else 15
    small_rows = []
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    c = seqkit.compose("lstm", "classification", seqkit.CellConfig(hidden_size=hidden), {"embedding_dim": 64})
    path = workdir / "lstm-b1.onnx"
    seqkit.export(c, path, provider=provider, force=True)
    inputs = c.task.example_inputs(1, 20 if quick else 100, full_lengths=True)
    feeds = {s.name: t.numpy() for s, t in zip(c.task.inputs(), inputs)}
    fns = {"torch cuDNN eager": _torch_fn(c.model.to(device), tuple(t.to(device) for t in inputs), device),
           "ort run (numpy in/out)": (lambda s=open_session(str(path), provider): s.run(feeds))}
    bound = BoundSession(str(path), feeds, provider=provider, cuda_graph=False)
    fns["ort IO binding"] = lambda: bound.run(feeds)
    if provider == "cuda":
        try:
            graph = BoundSession(str(path), feeds, provider="cuda", cuda_graph=True)
            graph.run(feeds)
            fns["ort IO binding + CUDA graph"] = lambda: graph.run(feeds)
            fns["ort CUDA graph, outputs left on GPU"] = lambda: graph.run(feeds, copy_out=False)
            tf32 = BoundSession(str(path), feeds, provider="cuda", cuda_graph=True, precision="tf32")
            tf32.run(feeds)
            fns["ort CUDA graph, TF32"] = lambda: tf32.run(feeds)
            import onnx

            from seqkit.onnx.quantize import to_fp16

            half_path = workdir / "lstm-b1-fp16.onnx"
            onnx.save(to_fp16(onnx.load(path))[0], half_path)
            half = BoundSession(str(half_path), feeds, provider="cuda", cuda_graph=True)
            half.run(feeds)
            fns["ort CUDA graph, fp16 (seqkit quantize --fp16)"] = lambda: half.run(feeds)
        except Exception as exc:
            small_rows.append({"what": "ort CUDA graph", "error": str(exc).splitlines()[0]})
    for name, (med, spread) in time_interleaved(fns, repeats).items():
        small_rows.append({"what": name, "ms": round(med * 1e3, 4), "spread": round(spread, 3)})
        print(f"  B=1 T={inputs[0].shape[1]} H={hidden} {name:38} {med * 1e3:8.3f} ms", flush=True)

    big_rows = []
    shapes = [(8, 20)] if quick else [(64, 100), (256, 500)]
    for precision in ("float32", "tf32"):
        if provider != "cuda" and precision == "tf32":
            continue
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        for cell in ("rnn", "lstm", "gru"):
            c = seqkit.compose(cell, "classification", seqkit.CellConfig(hidden_size=hidden), {"embedding_dim": 64})
            path = workdir / f"{cell}-big.onnx"
            seqkit.export(c, path, provider=provider, force=True, verify=False)
            model = c.model.to(device)
            for batch, steps in shapes:
                inputs = c.task.example_inputs(batch, steps, full_lengths=True)
                feeds = {s.name: t.numpy() for s, t in zip(c.task.inputs(), inputs)}
                fns = {"torch": _torch_fn(model, tuple(t.to(device) for t in inputs), device)}
                sess = open_session(str(path), provider, precision=precision)
                fns["ort"] = lambda s=sess, f=feeds: s.run(f)
                if provider == "cuda":
                    try:
                        g = BoundSession(str(path), feeds, provider="cuda", cuda_graph=True, precision=precision)
                        g.run(feeds)
                        fns["ort graph"] = lambda g=g, f=feeds: g.run(f)
                    except Exception:
                        pass
                timed = time_interleaved(fns, repeats)
                row = {"cell": cell, "batch": batch, "time": steps, "hidden": hidden, "precision": precision,
                       **{f"{k} ms": round(v[0] * 1e3, 4) for k, v in timed.items()}}
                best_ort = min(v[0] for k, v in timed.items() if k != "torch")
                row["torch/ort"] = round(timed["torch"][0] / best_ort, 3)
                big_rows.append(row)
                print(f"  {cell:4} B={batch:3} T={steps:3} H={hidden} {precision:7} " +
                      " ".join(f"{k} {v[0] * 1e3:8.3f} ms" for k, v in timed.items()) +
                      f"  torch/ort {row['torch/ort']:.2f}", flush=True)
    return small_rows, big_rows


def markdown(env: dict, exports: list[dict], small: list[dict], big: list[dict], notes: list[str]) -> str:
    lines = [f"GPU check, {env['date']}: {env.get('gpu', env['cpu'])}, torch {env['torch']} (CUDA {env.get('cuda')}, "
             f"cuDNN {env.get('cudnn')}), onnxruntime {env['onnxruntime']}, provider {env['provider']}", ""]
    lines += ["| cell | task | lowering | verified | max abs err | nodes per provider | copies | predicted copies "
              "| CUDA graph |", "|---|---|---|---|---|---|---|---|---|"]
    for r in exports:
        if "error" in r:
            lines.append(f"| {r['cell']} | {r['task']} | {r['lowering']} | error: {r['error']} | | | | | |")
            continue
        nodes = ", ".join(f"{k} {v}" for k, v in r["nodes"].items())
        lines.append(f"| {r['cell']} | {r['task']} | {'/'.join(r['lowering_used'])} | {r['verified']} | "
                     f"{r['max_abs_err']:.1e} | {nodes} | {r['memcpy']} | {r['predicted_copies']} | "
                     f"{r['cuda_graph']} |")
    lines += ["", "| LSTM B=1 | ms per call |", "|---|---|"]
    lines += [f"| {r['what']} | {r.get('ms', r.get('error'))} |" for r in small]
    if big:
        keys = [k for k in big[0] if k not in ("cell", "batch", "time", "hidden", "precision")]
        keys = sorted({k for r in big for k in r if k.endswith(" ms")}) + ["torch/ort"]
        lines += ["", "| cell | batch | time | hidden | precision | " + " | ".join(keys) + " |",
                  "|---" * (5 + len(keys)) + "|"]
        for r in big:
            lines.append(f"| {r['cell']} | {r['batch']} | {r['time']} | {r['hidden']} | {r['precision']} | "
                         + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    lines += [""] + [f"note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.environ.get("OUT", "."), help="folder for gpu_check.json / .md")
    ap.add_argument("--cpu-dry-run", action="store_true", help="no CUDA: run every step on the CPU, small sizes")
    ap.add_argument("--quick", action="store_true", help="fewer exports and small sizes")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    notes = ensure_importable()
    import torch  # noqa: I001 (first: it loads the CUDA libraries onnxruntime-gpu then finds)
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls()
        except Exception as exc:  # CPU builds have nothing to preload
            notes.append(f"onnxruntime.preload_dlls(): {exc}")
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers() and torch.cuda.is_available()
    if not has_cuda and not args.cpu_dry_run:
        print(f"no CUDA here: onnxruntime {ort.__version__} offers {ort.get_available_providers()}, "
              f"torch.cuda.is_available() = {torch.cuda.is_available()}.\nInstall onnxruntime-gpu (see "
              f"benchmarks/gpu_check.sh) on a CUDA machine, or run with --cpu-dry-run to exercise the steps here.")
        return 2
    provider = "cuda" if has_cuda else "cpu"
    quick = args.quick or not has_cuda
    env = environment(provider)
    print(f"environment: {json.dumps(env)}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqkit-gpu-") as tmp:
        print("1. exports on the provider: verification, placement, CUDA graphs", flush=True)
        exports = check_exports(provider, Path(tmp), quick)
        small, big = [], []
        if not args.skip_latency:
            print("2./3. latency", flush=True)
            try:
                small, big = latency(provider, Path(tmp), quick)
            except Exception:
                notes.append("latency failed: " + traceback.format_exc().splitlines()[-1])
    notes.append(f"total {time.perf_counter() - start:.0f} s")
    (out / "gpu_check.json").write_text(json.dumps({"environment": env, "exports": exports, "b1": small,
                                                    "large_batch": big, "notes": notes}, indent=2))
    md = markdown(env, exports, small, big, notes)
    (out / "gpu_check.md").write_text(md)
    print("\n" + md)
    failed = [r for r in exports if "error" in r or not r.get("verified")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
