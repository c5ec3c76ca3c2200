"""onnxruntime sessions on a named provider, never silently on another one."""
from __future__ import annotations

from dataclasses import dataclass

import onnxruntime as ort

from seqkit.errors import ProviderError, SeqkitError, described
from seqkit.runtime.providers import PROVIDERS

# The CUDA provider runs float32 MatMul/Gemm in TF32 by default (~2e-4 off float32 on an H100); seqkit turns
# TF32 off so that its tolerances speak of float32 parity.
PROVIDER_OPTIONS = {"cuda": {"use_tf32": "0"}}
#: (atol, rtol) per provider for float32, compared as |onnx - torch| <= atol + rtol * |torch|
TOLERANCES = {"cpu": (1e-5, 1e-4), "cuda": (1e-4, 1e-3)}
#: precisions a session can compute in: float32 (verification's default) or tf32 (CUDA MatMul/Gemm/RNN inputs
#: rounded to 10-bit mantissas: faster on Ampere and later, ~2e-4 off float32 as measured on an H100)
PRECISIONS = ("float32", "tf32")
#: (atol, rtol) for a session that computes in TF32 (the measured ~2e-4, with room for long sequences)
TF32_TOLERANCES = (1e-3, 1e-2)


@dataclass
class Session:
    session: ort.InferenceSession
    provider: str            # what was asked for: "cpu" or "cuda"
    providers_used: list[str]  # what onnxruntime reports it runs with

    def run(self, feeds: dict) -> list:
        return self.session.run(None, feeds)


def open_session(model: str | bytes, provider: str = "cpu", threads: int | None = None, precision: str = "float32",
                 options: ort.SessionOptions | None = None, provider_options: dict | None = None) -> Session:
    """An InferenceSession on ``provider``; a :class:`ProviderError` if that provider is not available.

    ``threads``: intra-op threads (None: onnxruntime's default, one per core). ``precision``: ``float32``, or
    ``tf32`` to let the CUDA provider use TF32 (serving; verify with :data:`TF32_TOLERANCES`); on the CPU both
    are float32. ``options`` / ``provider_options`` are passed on (e.g. profiling, ``enable_cuda_graph``).
    """
    if provider not in PROVIDERS:
        raise SeqkitError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    if precision not in PRECISIONS:
        raise SeqkitError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    name = PROVIDERS[provider]
    available = ort.get_available_providers()
    if name not in available:
        raise ProviderError(f"onnxruntime {ort.__version__} here has no {name} (available: {', '.join(available)}); "
                            f"install onnxruntime-gpu with a matching CUDA, or use --provider cpu")
    ep_options = {**PROVIDER_OPTIONS.get(provider, {}), **(provider_options or {})}
    if provider == "cuda" and precision == "tf32":
        ep_options["use_tf32"] = "1"
    providers = [(name, ep_options)]
    if provider != "cpu":
        providers.append(("CPUExecutionProvider", {}))  # nodes the GPU provider lacks; reported, see below
    if options is None:
        options = ort.SessionOptions()
        options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if threads == 1:  # no pool, so no thread spinning beside the caller's
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        sess = ort.InferenceSession(model, sess_options=options, providers=providers)
    except Exception as exc:
        raise SeqkitError(f"onnxruntime could not load the model: {described(exc)}") from None
    used = sess.get_providers()
    if not used or used[0] != name:
        raise ProviderError(f"asked for {name} but onnxruntime runs with {', '.join(used)}")
    return Session(sess, provider, used)
