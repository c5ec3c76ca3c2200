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
@click.option("--beam", type=int, default=1, show_default=True, callback=positive,
              help="Translation models: beam width (1: greedy decoding).")
@click.option("--length-penalty", type=float, default=0.0, show_default=True,
              help="Translation models, beam search: hypotheses ranked by log-probability / ((5 + length) / 6) ** "
                   "this (0: raw log-probability; ~0.6 favours longer translations).")
def predict(model, input, texts, output, fmt, force, provider, batch_size, beam, length_penalty):
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
                                 (covariates: the future rows after them, targets empty)
      speech-frames              a folder of .wav files (or one .wav; 16 kHz PCM), or .npz frames
      video-frames               .npz with clips [items, time, channels, height, width] (+ lengths)
      adding                     .jsonl, one [[value, marker], ...] per line, or .npz series
      tagging (plugin)           .jsonl, one {"tokens": ["the", "cat"]} per line -> one tag per token
      translation                .txt one sentence per line (or a .tsv's first column), or --text;
                                 MODEL is the encoder file (its .decoder.onnx beside it); --beam, --length-penalty
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
      seqkit predict en-zh.onnx --text "I like tea." --beam 5
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
    from seqkit.runtime.translate import read_seq2seq_metadata

    seq2seq = read_seq2seq_metadata(model)
    if seq2seq is not None:  # an encoder + decoder-step export: translations, one per sentence
        _translate(model, seq2seq, input, texts, output, fmt, provider, batch_size, beam, length_penalty, start)
        return
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
    _write(records, output, fmt, served.provider, start)


def _write(records: list[dict], output, fmt: str, provider: str, start: float, ascii_only: bool = True) -> None:
    import time

    text = to_csv(records) if fmt == "csv" else "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n"
                                                         for r in records)
    if output:
        from seqkit.files import atomic_write

        atomic_write(output, text.encode())
        click.echo(f"wrote {len(records)} predictions to {output} ({provider}, "
                   f"{time.perf_counter() - start:.1f} s)", err=True)
    else:
        click.echo(text, nl=False)


def _translate(model, meta, input, texts, output, fmt, provider, batch_size, beam, length_penalty, start) -> None:
    """Sentences (--text, or INPUT: .txt one per line, or the first column of a .tsv) -> translations."""
    from seqkit.runtime.translate import Translator

    translator = Translator(model, provider, metadata=meta)
    if texts:
        sentences, sources = list(texts), [f"--text {i + 1}" for i in range(len(texts))]
    else:
        path = Path(input)
        if not path.is_file():
            raise SeqkitError(f"{input} is not a file; give a .txt with one sentence per line (or a .tsv: its first "
                              f"column), or --text")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise SeqkitError(f"{input} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        numbered = [(n, line.split("\t")[0].strip()) for n, line in enumerate(lines, 1) if line.strip()]
        if not numbered:
            raise SeqkitError(f"{input} holds no sentences; give one sentence per line")
        sentences, sources = [s for _, s in numbered], [f"{input}:{n}" for n, _ in numbered]
    results = translator.translate(sentences, beam=beam, length_penalty=length_penalty, batch_size=batch_size)
    records = [{"sample": i, "source": s, "text": t, "translation": r}
               for i, (s, t, r) in enumerate(zip(sources, sentences, results))]
    _write(records, output, fmt, translator.encoder.provider, start, ascii_only=False)


def _progress(long: bool):
    """A rich progress bar on stderr for inputs of more than one batch, when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not (long and sys.stderr.isatty()), transient=True)
