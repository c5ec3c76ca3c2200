"""The ONNX side: how cells lower to ONNX (lowering/), export with metadata, and verification.

The constants below are importable without torch or onnx (the CLI's defaults). Internal paths: plugins import
``seqkit.export`` / ``seqkit.ScanCell`` / ... from ``seqkit`` (docs/plugins.md, "The public API").
"""

#: opset of exported files unless another is asked for
DEFAULT_OPSET = 18
#: opsets every model exports at: DEFAULT_OPSET up to the newest the installed onnx knows (see export.opset_range)
MIN_OPSET = 18
#: the lowest opset seqkit tries: torch.onnx writes 18 and converts down, which works for some models only
LOWEST_OPSET = 16
#: (batch, time) the exporter traces at: both > 1, so torch.export cannot specialise them to 0/1
TRACE_SHAPE = (3, 7)
#: what a native recurrent node can be written as (seqkit.onnx.lowering.rewrite; docs/performance.md)
NODE_LOWERINGS = ("native", "scan", "native-masked")
#: what ``--lowering`` (``lowering=``) accepts: ``auto`` picks one of NODE_LOWERINGS per op and provider. The one
#: list: the CLI's choices, the API's check and the docs' ``--lowering auto|native|...`` (tests/test_lowering.py)
LOWERINGS = ("auto", *NODE_LOWERINGS)
