"""seqkit diagnose gradients."""
from __future__ import annotations

import json
from pathlib import Path

import click

from seqkit.cli.common import int_list, out, parse_options, positive
from seqkit.errors import SeqkitError


@click.group()
def diagnose():
    """Measurements that explain how a model behaves (see docs/gradients.md)."""


@diagnose.command()
@click.option("--cell", "cells", multiple=True, metavar="NAME[:KEY=VALUE...]",
              help="Cell(s) to measure, freshly initialised; repeat or separate by commas. Cell options follow "
                   "the name after ':', e.g. lstm:forget_bias=null  [default: rnn,lstm,gru]")
@click.option("--run", "run_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Measure the cell of a trained run (a run folder written by 'seqkit train') instead; repeat "
                   "to compare runs on one plot.")
@click.option("--data", default=None, help="With --run: draw inputs from this dataset (name or path, test split).")
@click.option("--length", type=int, default=100, show_default=True, callback=positive,
              help="Sequence length T (with --data, the data's length).")
@click.option("--hidden-size", type=int, default=128, show_default=True, callback=positive)
@click.option("--input-size", type=int, default=2, show_default=True, callback=positive,
              help="Features per step of the N(0, 1) inputs (fresh cells only).")
@click.option("--batch", type=int, default=8, show_default=True, callback=positive, help="Sequences per seed.")
@click.option("--seeds", "--seed", "seeds", default="0,1,2", show_default=True, callback=int_list,
              help="Seeds for weights and inputs; the norms are averaged over them.")
@click.option("--png", type=click.Path(dir_okay=False), default="gradients.png", show_default=True,
              help="Plot of all cells on one log scale (replaced if it exists).")
@click.option("--json", "as_json", is_flag=True, help="Print every step's norms as JSON instead of a table.")
def gradients(cells, run_dirs, data, length, hidden_size, input_size, batch, seeds, png, as_json):
    """Norm of d output_{T-1} / d x_t for every step t: how far back can the last output still see?

    \b
    Examples:
      seqkit diagnose gradients --cell rnn,lstm,gru --length 100
      seqkit diagnose gradients --cell lstm --cell lstm:forget_bias=null --png lstm.png
      seqkit diagnose gradients --run runs/gru-adding --run runs/lstm-adding --data adding
    """
    from rich.table import Table

    from seqkit.training import diagnose as d

    if run_dirs and cells:
        raise SeqkitError("give either --run or --cell, not both")
    if data and not run_dirs:
        raise SeqkitError("--data needs --run (fresh cells are measured on random inputs)")
    if run_dirs:
        from seqkit.training import load_run

        report = d.combine([d.measure_composition(load_run(r), length=length, seeds=seeds, batch=batch, data=data,
                                                  label=Path(r).name) for r in run_dirs])
    else:
        names = [part for c in (cells or ("rnn,lstm,gru",)) for part in c.split(",") if part.strip()]
        specs = [d.CellSpec(name.strip(), parse_options(tuple(opts.split(":")) if opts else (), "cell"))
                 for name, _, opts in (n.partition(":") for n in names)]
        report = d.measure_cells(specs, length=length, hidden_size=hidden_size, seeds=seeds, batch=batch,
                                 input_size=input_size)
    if png:
        d.plot(report, png)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "png": png}, indent=2))
        return
    table = Table(title=f"||d out_(T-1) / d x_t||, T={report.length}, mean over {report.batch} sequences x "
                        f"{len(report.seeds)} seed(s), input {report.input}")
    table.add_column("steps back", justify="right")
    table.add_column("t", justify="right")
    for p in report.profiles:
        table.add_column(p.label, justify="right", overflow="fold")
    for back in report.distances():
        t = report.length - 1 - back
        table.add_row(str(back), str(t), *(d.fmt(p.norms[t]) for p in report.profiles))
    out.print(table)
    if png:
        out.print(f"wrote {png}")
