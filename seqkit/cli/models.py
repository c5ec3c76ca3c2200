"""seqkit plugins / export / verify."""
from __future__ import annotations

import json
from pathlib import Path

import click

from seqkit.cli.common import (
    cell_config,
    json_option,
    model_options,
    non_negative,
    out,
    parse_options,
    print_report,
    provider_option,
)
from seqkit.errors import SeqkitError
from seqkit.onnx import DEFAULT_OPSET, LOWERINGS, LOWEST_OPSET, MIN_OPSET


@click.command()
@json_option("Print JSON instead of a table.")
def plugins(as_json):
    """List registered cells and tasks with the plugin and distribution each comes from.

    Plugins that failed to load are listed under "problems". Set SEQKIT_DISABLE_PLUGINS=name1,name2 to skip
    plugins by name.

    \b
    Example:
      seqkit plugins --json
    """
    from seqkit.cli.listing import print_listing
    from seqkit.core.plugins import load_plugins

    loaded = load_plugins()
    rows, problems = loaded.table(), loaded.all_problems()
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": problems, "disabled": loaded.disabled}, indent=2))
        return
    notes = [f"problem: {p}" for p in problems]
    if loaded.disabled:
        notes.append(f"disabled by SEQKIT_DISABLE_PLUGINS: {', '.join(loaded.disabled)}")
    print_listing("seqkit plugins", ("kind", "name", "plugin", "distribution", "version"), rows, "description",
                  lambda r: f"{r['kind']} {r['name']}  ({r['distribution']} {r['version']}, plugin {r['plugin']})",
                  notes)


@click.command()
@click.argument("run", required=False, type=click.Path(exists=True, file_okay=False))
@model_options()
@click.option("--opset", type=int, default=DEFAULT_OPSET, show_default=True,
              help=f"ONNX opset of the written file ({MIN_OPSET} up to the newest the installed onnx knows; "
                   f"{LOWEST_OPSET}-{MIN_OPSET - 1} for some models); refused if it cannot be written.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file [default: CELL-TASK.onnx, or RUN/model.onnx].")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@provider_option("onnxruntime provider that runs the verification.")
@click.option("--atol", type=float, default=None, callback=non_negative,
              help="Absolute tolerance [default: per provider].")
@click.option("--rtol", type=float, default=None, callback=non_negative,
              help="Relative tolerance [default: per provider].")
@click.option("--reference", is_flag=True,
              help="Also run the file on onnx.reference (an implementation independent of onnxruntime) at small "
                   "shapes and compare it with PyTorch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the initial weights.")
@click.option("--no-verify", is_flag=True, help="Skip the onnxruntime comparison (the file is still checked).")
@click.option("--streaming", is_flag=True,
              help="Recurrent state of every layer as inputs and outputs, to feed a sequence in chunks (see "
                   "docs/deploy.md); verified chunk by chunk. Refused for bidirectional cells and mean/max pooling.")
@click.option("--lowering", type=click.Choice(LOWERINGS), default="auto",
              show_default=True, help="How native recurrent nodes are written: auto picks per cell for --provider "
              "(docs/performance.md); scan = one input MatMul + the recurrence in a Scan; native-masked = the "
              "native op with lengths applied around it (no CPU-side input on CUDA).")
@json_option("Print a machine-readable JSON report.")
@click.pass_context
def export(ctx, run, cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, opset,
           output, force, provider, atol, rtol, reference, seed, no_verify, streaming, lowering, as_json):
    """Compose CELL and TASK into a model (or load the trained one in RUN), export it to ONNX and verify it.

    The file uses native ONNX recurrent ops (or a Scan for custom cells), has symbolic batch and time axes,
    and carries seqkit metadata. Verification compares onnxruntime with PyTorch at the trace shape and at
    unseen (batch, time) shapes with padded batches; any mismatch exits with code 1 and writes nothing.

    \b
    Examples:
      seqkit export --cell gru
      seqkit export --cell lstm --bidirectional --num-layers 2 -o lstm.onnx --force
      seqkit export --cell rnn -O nonlinearity=relu -T pooling=max --json
      seqkit export runs/bm -o bm.onnx       the trained model of a 'seqkit train' run
      seqkit export --cell lstm --streaming -o lstm-stream.onnx    state in and out, for chunked input
      seqkit export --cell rnn --lowering scan -o rnn-scan.onnx
    """
    from seqkit.core.compose import compose
    from seqkit.onnx.export import export as do_export

    ctx.meta["json"] = as_json
    model_options = ("cell", "task", "hidden_size", "num_layers", "bidirectional", "dropout", "cell_options",
                     "task_options", "seed")
    given = [n for n in model_options if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    if run and given:
        raise SeqkitError(f"RUN fixes the model; drop --{given[0].replace('_', '-')} (it comes from {run}/config.json)")
    if run:
        from seqkit.training import load_run

        composition = load_run(run)
        default_output = str(Path(run) / "model.onnx")
    else:
        config = cell_config(hidden_size, num_layers, bidirectional, dropout, cell_options)
        composition = compose(cell, task, config, parse_options(task_options, "task"), seed=seed)
        default_output = f"{cell}-{task}.onnx"
    if streaming and composition.model.cell.num_directions != 1:
        raise SeqkitError(_bidirectional_streaming(run, composition))
    result = do_export(composition, output or default_output, opset=opset, force=force,
                       verify=not no_verify, provider=provider, atol=atol, rtol=rtol, reference=reference,
                       streaming=streaming, lowering=lowering)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    if result.report:
        print_report(result.report)
    verdict = "verified" if result.report else "checked (not verified: --no-verify)"
    out.print(f"wrote {result.path} ({verdict}, opset {result.opset}, {result.seconds:.1f} s)")


def _bidirectional_streaming(run: str | None, composition) -> str:
    """Why a bidirectional model cannot be exported with --streaming, and what to do: retrain a RUN, or drop
    --bidirectional from a fresh export."""
    why = "a bidirectional cell reads each sequence backwards from its end, which a chunk does not have"
    if run:
        return (f"cannot export {run} for streaming: its model was trained bidirectional, and {why}, so it cannot "
                f"stream; retrain it unidirectional (seqkit train --cell {composition.cell_name} --task "
                f"{composition.task_name} ... --unidirectional, the default) to stream it, or export it without "
                f"--streaming")
    return f"cannot export a bidirectional model for streaming: {why}; drop --bidirectional to stream"


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@provider_option()
@click.option("--reference", is_flag=True,
              help="Also run the file on onnx.reference.ReferenceEvaluator (independent of onnxruntime, pure numpy, "
                   "slow: small shapes only); any disagreement with onnxruntime fails.")
@click.option("--placement/--no-placement", default=None,
              help="Show where onnxruntime ran each node (its profiler), the host<->GPU copies and whether CUDA "
              "graphs are possible [default: on with --provider cuda].")
@json_option("Print a machine-readable JSON report.")
def verify(model, provider, reference, placement, as_json):
    """Run a seqkit ONNX file alone (no PyTorch model) at several shapes and print its metadata.

    Checks the file (onnx.checker, symbolic batch/time axes), then runs it on random valid inputs at the
    trace shape, batch 1, time 1, longer times and one long sequence (300 steps): outputs must be finite with
    the declared shapes. With --reference a second runtime computes the same outputs at the small shapes.

    \b
    Examples:
      seqkit verify gru-classification.onnx --provider cpu
      seqkit verify gru-classification.onnx --reference
      seqkit verify gru-classification.onnx --provider cuda     node placement, copies, CUDA graphs
    """
    from seqkit.onnx.verify import verify_file

    report = verify_file(model, provider, reference=reference)
    placed = _placement(model, provider, report) if (placement or (placement is None and provider == "cuda")) \
        else None
    if as_json:
        click.echo(json.dumps({**report.to_dict(), **({"placement": placed} if placed else {})}, indent=2))
    else:
        meta = report.metadata
        out.print(f"{model}: seqkit {meta.get('version')} cell '{meta.get('cell')}' task '{meta.get('task')}', "
                  f"opset {report.opset}")
        out.print(f"config: {json.dumps(meta.get('config'))}")
        if meta.get("lowering"):
            out.print(f"lowering: {json.dumps(meta['lowering'])}")
        for kind in ("inputs", "outputs"):
            for s in meta.get(kind, []):
                out.print(f"  {kind[:-1]} {s['name']} {s['dtype']}{s['shape']}: {s['description']}")
        print_report(report)
        if placed:
            _print_placement(placed)
    if not report.ok:
        raise SeqkitError(f"{model} failed verification: {report.failures()[0]}")


def _placement(model, provider, report) -> dict:
    """onnxruntime's own node placement (one profiled run) and the static check for the CUDA provider."""
    import numpy as np
    import onnx

    from seqkit.core.task import TensorSpec, sample_inputs
    from seqkit.onnx import TRACE_SHAPE
    from seqkit.onnx.gpu import control_flow, host_copies
    from seqkit.runtime.placement import profile_placement

    specs = [TensorSpec.from_dict(d) for d in report.metadata["inputs"]]
    feeds = sample_inputs(specs, {"batch": TRACE_SHAPE[0], "time": TRACE_SHAPE[1]}, np.random.default_rng(0))
    placed = profile_placement(model, feeds, provider).to_dict()
    proto = onnx.load(model)
    placed["predicted_cuda_copies"] = host_copies(proto)
    placed["predicted_control_flow"] = control_flow(proto)
    return placed


def _print_placement(placed: dict) -> None:
    for ep, ops in placed["nodes"].items():
        listing = ", ".join(f"{op} {n}" for op, n in ops.items())
        out.print(f"{ep}: {sum(ops.values())} node(s): {listing}")
    for name in placed["off_provider"]:
        out.print(f"  not on the asked provider: {name}")
    out.print(f"host<->GPU copy nodes: {placed['memcpy']}")
    if placed["provider"] == "cuda":
        blockers = placed["cuda_graph_blockers"]
        out.print("CUDA graphs: " + ("possible (no copies, no control flow)" if not blockers
                                     else "refused by onnxruntime: " + "; ".join(blockers)))
    else:
        predicted = placed["predicted_cuda_copies"] + placed["predicted_control_flow"]
        out.print("on the CUDA provider (static check, seqkit.onnx.gpu): " + (
            "no host copies or control flow predicted: CUDA graphs possible" if not predicted
            else "; ".join(predicted)))
