"""seqkit generate."""
from __future__ import annotations

from pathlib import Path

import click

from seqkit.cli.common import out, provider_option


@click.command()
@click.argument("model", type=click.Path(exists=True))
@click.option("--prompt", default="", help="Text to start from [default: a new line].")
@click.option("--length", type=click.IntRange(min=0), default=200, show_default=True,
              help="Characters to sample after the prompt.")
@click.option("--temperature", type=click.FloatRange(min=0), default=0.8, show_default=True,
              help="Softmax temperature; 0 takes the most likely character every step.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed: the same seed, the same text.")
@click.option("--force", is_flag=True, help="With RUN: export RUN/model.onnx again even if it exists.")
@provider_option()
def generate(model, prompt, length, temperature, seed, force, provider):
    """Sample text from a language model, one character at a time, carrying its state between steps.

    MODEL is an ONNX file from 'seqkit export' of a language-model run, or the RUN directory itself (its
    model.onnx is exported and verified first if missing). Sampling runs on onnxruntime with numpy only (no
    PyTorch): the prompt is fed as one chunk, then each sampled character is fed back with the state.

    \b
    Examples:
      seqkit generate runs/lm --prompt "The computer " --length 120 --seed 1
      seqkit generate lm.onnx --prompt "Q: " --temperature 0.5
      seqkit generate lm.onnx --temperature 0 --length 80     the most likely text
    """
    path = Path(model)
    if path.is_dir():
        path = path / "model.onnx"
        if force or not path.exists():
            from seqkit.onnx.export import export
            from seqkit.training import load_run

            result = export(load_run(model), path, force=True)
            out.print(f"exported {path} (verified, {result.seconds:.1f} s)", style="dim")
    from seqkit.runtime.generate import generate as do_generate

    click.echo(do_generate(path, prompt, length, temperature, seed, provider))
