"""``seqkit serve``: exported files behind the Open Inference Protocol (KServe v2) on MLServer, without torch.

- tensors.py: protocol tensors <-> numpy, and a file's metadata as protocol metadata;
- binary.py: the REST binary tensor data extension (a JSON header, then raw tensor bytes);
- samples.py: raw samples (texts, token lists, series, WAV bytes) in a request, readable results out;
- batching.py: adaptive batching of concurrent requests, padded by length (asyncio + numpy);
- model.py: the MLServer runtime (``SeqkitModel``): one exported file, checked like ``seqkit.runtime``;
- server.py: settings, start-up checks, the request-size limit, SIGTERM draining.

Only numpy, onnxruntime, seqkit.runtime and (for model.py / server.py) MLServer are imported: never torch.
"""
