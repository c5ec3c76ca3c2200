"""seqkit predict: serve an exported file on raw inputs through seqkit.runtime (no torch is imported)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from seqkit.cli.common import positive, provider_option
from seqkit.errors import SeqkitError

FORMATS = ("jsonl", "csv")


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested dicts as dotted columns, lists as JSON text: one CSV row per result."""
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def to_csv(records: list[dict]) -> str:
    import csv
    import io

    rows = [flatten(r) for r in records]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("input", required=False, type=click.Path(exists=True))
@click.option("--text", "texts", multiple=True, metavar="TEXT",
              help="A text to predict on, instead of INPUT (repeatable; models with a tokenizer).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the results to this file (.jsonl or .csv) instead of standard output.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format [default: from the -o suffix, else jsonl].")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@provider_option()
@click.option("--batch-size", type=int, default=32, show_default=True, callback=positive,
              help="Samples per onnxruntime call.")
def predict(model, input, texts, output, fmt, force, provider, batch_size):
    """Predict with an exported MODEL on the raw samples in INPUT, checked against the model's metadata first.

    Results are one JSON object per sample (or a CSV row): class label, its probability and every class's
    probability; a forecast per column in the data's units; one tag per step; or the raw output values. Each
    result carries "sample" (its position) and "source" (file and line). A bad sample stops the run before
    anything is predicted, with one line naming the sample. Runs on onnxruntime alone: torch is not imported.

    \b
    INPUT per task (see docs/deploy.md for every form):
      classification (text)      .txt one text per line, .csv/.jsonl with a "text" column/key, or --text
      classification (numbers)   .npz with X [items, time, features] and optional lengths [items]
      forecasting                .csv of one series (a row per step): forecasts what follows its last rows
      speech-frames              a folder of .wav files (or one .wav; 16 kHz PCM), or .npz frames
      video-frames               .npz with clips [items, time, channels, height, width] (+ lengths)
      adding                     .jsonl, one [[value, marker], ...] per line, or .npz series
      tagging (plugin)           .jsonl, one {"tokens": ["the", "cat"]} per line -> one tag per token
    \b
    Examples:
      seqkit predict fortunes.onnx --text "you will travel far" --text "beware of dogs"
      seqkit predict fortunes.onnx texts.txt -o predictions.csv
      seqkit predict bm.onnx motions.npz --batch-size 64
      seqkit predict sun.onnx sunspots.csv
      seqkit predict digits.onnx recordings/ -o words.jsonl
      seqkit predict pan.onnx clips.npz --provider cuda
      seqkit predict add.onnx series.jsonl
      seqkit predict tagger.onnx sentences.jsonl
    """
    import time

    from seqkit.runtime.model import load
    from seqkit.runtime.readers import forecast_times, read_samples

    if (input is None) == (not texts):
        raise SeqkitError("give either INPUT (a file or folder of samples) or --text, not both and not neither")
    fmt = fmt or ("csv" if output and Path(output).suffix.lower() == ".csv" else "jsonl")
    if output and Path(output).exists() and not force:
        raise SeqkitError(f"{output} already exists; pass --force to replace it")
    start = time.perf_counter()
    served = load(model, provider)
    if texts:
        if not served.encoder.tokenizer.takes_text:
            raise SeqkitError(f"--text needs a model with a tokenizer; {model} takes {served.describe_sample()}")
        samples, sources = list(texts), [f"--text {i + 1}" for i in range(len(texts))]
    else:
        samples, sources = read_samples(input, served)
    with _progress(len(samples) > batch_size) as bar:
        task = bar.add_task("predicting", total=len(samples))
        results = served.predict(samples, batch_size, sources,
                                 progress=lambda done, total: bar.update(task, completed=done))
    records = [{"sample": i, "source": s, **r} for i, (s, r) in enumerate(zip(sources, results))]
    times = forecast_times(input, served) if input is not None else None
    for record, stamps in zip(records, times or []):
        record["time"] = stamps  # the timestamps being forecast (forecasting models with a time column)
    text = to_csv(records) if fmt == "csv" else "".join(json.dumps(r) + "\n" for r in records)
    if output:
        from seqkit.files import atomic_write

        atomic_write(output, text.encode())
        click.echo(f"wrote {len(records)} predictions to {output} ({served.provider}, "
                   f"{time.perf_counter() - start:.1f} s)", err=True)
    else:
        click.echo(text, nl=False)


def _progress(long: bool):
    """A rich progress bar on stderr for inputs of more than one batch, when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not (long and sys.stderr.isatty()), transient=True)
