"""seqkit quantize: an int8 (CPU) or float16 (GPU) copy of a seqkit ONNX file, written only if it still works."""
from __future__ import annotations

import json

import click

from seqkit.cli.common import json_option, out, provider_option


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--int8", "mode", flag_value="int8", help="Dynamic int8 (onnxruntime.quantization), for the CPU.")
@click.option("--fp16", "mode", flag_value="fp16", help="float16 weights and compute (inputs/outputs float32), for "
              "the GPU.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file [default: MODEL.int8.onnx / MODEL.fp16.onnx beside MODEL].")
@click.option("--data", default=None, help="Data for the task's own metric: a built-in dataset name (its --split is "
              "used) or a file the task reads. Without it only the outputs are compared.")
@click.option("--split", default="test", show_default=True, help="Split of a built-in dataset.")
@click.option("--max-drop", type=float, default=0.02, show_default=True,
              help="Largest relative worsening of the task's main metric (0.02: accuracy 0.90 may fall to 0.882).")
@click.option("--force", is_flag=True, help="Write even when the metric drops more than --max-drop or the outputs "
              "exceed the tolerances; replace an existing output file.")
@provider_option("onnxruntime provider that runs both models for the comparison and the timings.")
@click.option("--threads", type=int, default=None, help="onnxruntime intra-op threads [default: one per core]; "
              "with 1 on the cpu, latency is measured in CPU time (robust to other load).")
@json_option("Print the report as JSON.")
def quantize(model, mode, output, data, split, max_drop, force, provider, threads, as_json):
    """Quantize MODEL (a seqkit ONNX file) to int8 or float16; report size, latency and the task's metric next
    to the float model's; write it only if the metric drops at most --max-drop (unless --force).

    int8 quantizes MatMul (and Gemm heads), LSTM and embedding weights; nodes with no int8 form in onnxruntime
    (RNN, GRU, the recurrence inside a Scan body) stay float32 and are listed. Outputs are also compared with
    the float model's at the verification shapes, with per-precision tolerances (docs/performance.md).

    \b
    Examples:
      seqkit quantize bm.onnx --int8 --data basic-motions
      seqkit quantize bm.onnx --fp16 --provider cuda -o bm-gpu.onnx
      seqkit quantize gru-classification.onnx --int8 --max-drop 0.01 --json
    """
    from seqkit.errors import SeqkitError
    from seqkit.onnx.quantize import quantize as do_quantize

    if mode is None:
        raise SeqkitError("choose --int8 or --fp16")
    result = do_quantize(model, mode, output, data, split, max_drop, force, provider, threads)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_quantize(result)
    if not result.written:
        raise SeqkitError(f"not written: {result.refused}; pass --force to write it anyway")


def print_quantize(r) -> None:
    from rich.table import Table

    table = Table(title=f"{r.mode} vs float32 on {r.provider}" + (f" ({r.data}, {r.samples} samples)" if r.data
                                                                   else ""))
    for col in ("", "float32", r.mode):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("size", f"{r.float_model.size_bytes / 1024:.1f} KiB", f"{r.quantized.size_bytes / 1024:.1f} KiB")
    table.add_row("latency (batch 32, time 100)", f"{r.float_model.latency_ms:.3g} ms",
                  f"{r.quantized.latency_ms:.3g} ms")
    for name, value in r.float_model.metrics.items():
        mark = " (main)" if name == r.main_metric else ""
        table.add_row(f"{name}{mark}", f"{value:.4f}", f"{r.quantized.metrics[name]:.4f}")
    table.add_row("max abs / rel output error", "", f"{r.max_abs_err:.3g} / {r.max_rel_err:.3g}"
                  + ("" if r.outputs_ok else " (over tolerance)"))
    out.print(table)
    if r.drop is not None:
        out.print(f"{r.main_metric}: {r.drop:+.2%} worse (allowed {r.max_drop:.1%})")
    done = ", ".join(f"{op} x{n}" for op, n in r.quantized_nodes.items()) or "none"
    stays = ", ".join(f"{op} x{n}" for op, n in r.float_nodes.items()) or "none"
    out.print(f"{r.mode} nodes: {done}; staying float32: {stays}")
    for note in r.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if r.written:
        out.print(f"wrote {r.output}")
