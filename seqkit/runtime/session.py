"""onnxruntime sessions on a named provider, never silently on another one."""
from __future__ import annotations

from dataclasses import dataclass

import onnxruntime as ort

from seqkit.errors import ProviderError, SeqkitError
from seqkit.runtime.providers import PROVIDERS

# The CUDA provider runs float32 MatMul/Gemm in TF32 by default (~2e-4 off float32 on an H100); seqkit turns
# TF32 off so that its tolerances speak of float32 parity.
PROVIDER_OPTIONS = {"cuda": {"use_tf32": "0"}}
#: (atol, rtol) per provider for float32, compared as |onnx - torch| <= atol + rtol * |torch|
TOLERANCES = {"cpu": (1e-5, 1e-4), "cuda": (1e-4, 1e-3)}


@dataclass
class Session:
    session: ort.InferenceSession
    provider: str            # what was asked for: "cpu" or "cuda"
    providers_used: list[str]  # what onnxruntime reports it runs with

    def run(self, feeds: dict) -> list:
        return self.session.run(None, feeds)


def open_session(model: str | bytes, provider: str = "cpu") -> Session:
    """An InferenceSession on ``provider``; a :class:`ProviderError` if that provider is not available."""
    if provider not in PROVIDERS:
        raise SeqkitError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    name = PROVIDERS[provider]
    available = ort.get_available_providers()
    if name not in available:
        raise ProviderError(f"onnxruntime {ort.__version__} here has no {name} (available: {', '.join(available)}); "
                            f"install onnxruntime-gpu with a matching CUDA, or use --provider cpu")
    providers = [(name, PROVIDER_OPTIONS.get(provider, {}))]
    if provider != "cpu":
        providers.append(("CPUExecutionProvider", {}))  # nodes the GPU provider lacks; reported, see below
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        sess = ort.InferenceSession(model, sess_options=options, providers=providers)
    except Exception as exc:
        raise SeqkitError(f"onnxruntime could not load the model: {str(exc).splitlines()[0]}") from None
    used = sess.get_providers()
    if not used or used[0] != name:
        raise ProviderError(f"asked for {name} but onnxruntime runs with {', '.join(used)}")
    return Session(sess, provider, used)
