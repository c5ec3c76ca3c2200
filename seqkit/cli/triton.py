"""seqkit triton: a Triton Inference Server model repository for an exported file (needs onnx, not torch)."""
from __future__ import annotations

import click


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "repo", required=True, type=click.Path(file_okay=False),
              help="The Triton model repository (a folder; created if missing).")
@click.option("--name", default=None, help="Model name in the repository [default: the file's name].")
@click.option("--max-batch-size", type=int, default=64, show_default=True,
              help="Triton's max_batch_size (0: Triton does not batch; tensors keep the file's shapes).")
@click.option("--force", is_flag=True, help="Replace REPO/NAME if it exists.")
def triton(model, repo, name, max_batch_size, force):
    """Write a Triton Inference Server model repository for an exported MODEL: REPO/NAME/1/model.onnx and
    REPO/NAME/config.pbtxt (onnxruntime_onnx, dynamic batching; a --streaming file gets sequence batching with
    implicit state, batch-first at the file's edges). See docs/serving.md."""
    from seqkit.errors import SeqkitError
    from seqkit.onnx.triton import write_repository

    if max_batch_size < 0:
        raise SeqkitError("--max-batch-size must be >= 0")
    target = write_repository(model, repo, name=name, max_batch_size=max_batch_size, force=force)
    click.echo(f"wrote {target}/config.pbtxt and {target}/1/model.onnx")
