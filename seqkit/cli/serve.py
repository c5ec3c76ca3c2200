"""seqkit serve: exported files behind the Open Inference Protocol (REST + gRPC) on MLServer; no torch."""
from __future__ import annotations

import click

from seqkit.cli.common import positive, provider_option


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="MODEL.onnx|NAME=MODEL.onnx...")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface, e.g. in a container).")
@click.option("--port", type=int, default=8080, show_default=True, help="REST (HTTP) port.")
@click.option("--grpc-port", type=int, default=8081, show_default=True, help="gRPC port.")
@click.option("--workers", type=int, default=1, show_default=True, callback=positive,
              help="Inference processes (MLServer's parallel workers); 1 runs in the server's own process.")
@click.option("--threads", type=int, default=1, show_default=True, callback=positive,
              help="onnxruntime threads per model (1: the event loop keeps the other cores; 0 is not allowed).")
@click.option("--max-batch-size", type=int, default=64, show_default=True, callback=positive,
              help="Most rows one onnxruntime call takes from concurrent requests; 1 turns batching off.")
@click.option("--max-batch-time", type=float, default=0.0, show_default=True,
              help="Seconds a batch may wait for more requests (0: it takes what is queued, never waits).")
@click.option("--max-steps", type=int, default=100_000, show_default=True, callback=positive,
              help="Longest sequence (time steps) a request may send.")
@click.option("--max-body-mb", type=float, default=64.0, show_default=True,
              help="Largest request body (REST) or message (gRPC), in MiB.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="A log line per request (uvicorn's access log; MLServer's debug setting).")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on this port (off by default).")
@provider_option()
def serve(models, host, port, grpc_port, workers, threads, max_batch_size, max_batch_time, max_steps, max_body_mb,
          access_log, metrics_port, provider):
    """Serve exported MODELs over the Open Inference Protocol v2 (KServe v2; REST and gRPC) on MLServer.

    Each file is a model named after the file (or NAME=PATH). Requests send the file's own input tensors, or raw
    samples (an input 'samples', BYTES, content_type text, json or wav) that go through seqkit.runtime's predict;
    concurrent requests are batched, padded by length. SIGTERM finishes the requests in flight and exits 0.
    Needs the serve extra: pip install 'seqkit[serve]' (no torch). See docs/deploy.md.
    """
    from seqkit.errors import SeqkitError
    from seqkit.serve.server import Options, named
    from seqkit.serve.server import serve as run

    if max_batch_time < 0 or max_body_mb <= 0:
        raise SeqkitError("--max-batch-time must be >= 0 and --max-body-mb > 0")
    options = Options(host=host, port=port, grpc_port=grpc_port, workers=workers, threads=threads,
                      max_batch_size=max_batch_size,
                      max_batch_time=max_batch_time, max_steps=max_steps, max_body_mb=max_body_mb,
                      provider=provider, access_log=access_log, metrics_port=metrics_port, models=named(list(models)))
    run(options, ready=lambda line: click.echo(line, err=True))

