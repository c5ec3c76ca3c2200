"""Provider names, importable without onnxruntime (the CLI's --provider choices)."""

#: seqkit's provider names -> onnxruntime execution providers
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
