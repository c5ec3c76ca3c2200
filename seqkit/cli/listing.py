"""Lists of named things with a free-text description (``seqkit plugins``, ``seqkit datasets``), readable wherever
they go: a table on a wide terminal, one block per row on a narrow one (80 columns), and plain tab-separated
text when stdout is not a terminal (a pipe, a file), for cut, awk and grep. ``--json`` is the commands' own.

Descriptions are plain text, never rich markup: ``an .npz with [X], [y]`` prints as written.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import click

from seqkit.cli.common import out

#: the narrowest description column a table may leave; narrower terminals get one block per row
MIN_TEXT_WIDTH = 40


def plain(value) -> str:
    """``value`` as one tab-free line (a description may hold newlines or tabs)."""
    return " ".join(str(value).split())


def print_listing(title: str, columns: Sequence[str], rows: Sequence[dict], text: str,
                  head: Callable[[dict], str], notes: Sequence[str] = ()) -> None:
    """``rows`` (dicts with ``columns`` and ``text``) under ``title``, then ``notes`` (plain lines).

    ``head(row)`` is a row's first line in the narrow layout, the ``text`` column its indented second.
    """
    if not sys.stdout.isatty():
        click.echo("\t".join([*columns, text]))
        for row in rows:
            click.echo("\t".join(plain(row[c]) for c in [*columns, text]))
        for note in notes:
            click.echo(plain(note))
        return
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    keys = sum(max([len(c), *(len(str(r[c])) for r in rows)]) + 3 for c in columns)
    if out.width - keys - 4 >= MIN_TEXT_WIDTH:
        table = Table(title=title)
        for col in columns:
            table.add_column(col, no_wrap=True)
        table.add_column(text, ratio=1)
        for row in rows:
            table.add_row(*(Text(str(row[c])) for c in [*columns, text]))
        out.print(table)
    else:
        out.print(f"[bold]{escape(title)}[/bold]")
        for row in rows:
            out.print(Text(head(row), style="bold"), soft_wrap=False)
            out.print(Padding(Text(plain(row[text])), (0, 0, 0, 4), expand=False), soft_wrap=False)
    for note in notes:
        out.print(Text(note), soft_wrap=False)
