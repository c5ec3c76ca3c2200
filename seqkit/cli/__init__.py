"""The ``seqkit`` command: a thin layer over the Python API (parse options, call, print).

Commands are registered explicitly in :data:`COMMANDS` and imported only when used (or listed by --help), so
``seqkit --help`` imports neither torch nor onnxruntime. Each command module imports nothing heavy at the top:
the API it calls is imported inside the command. Shared options, parsing and printing live in common.py.
"""
from __future__ import annotations

import importlib

import click

from seqkit._version import __version__

#: command name -> "module:attribute" of its click command, in the order --help lists them
COMMANDS = {
    "plugins": "seqkit.cli.models:plugins",
    "export": "seqkit.cli.models:export",
    "verify": "seqkit.cli.models:verify",
    "train": "seqkit.cli.training:train",
    "evaluate": "seqkit.cli.training:evaluate",
    "diagnose": "seqkit.cli.diagnose:diagnose",
    "generate": "seqkit.cli.generate:generate",
}


class SeqkitGroup(click.Group):
    """Lazily loads commands from :data:`COMMANDS`; turns :class:`SeqkitError` into one line on stderr and exit
    code 1, without a traceback."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        from seqkit.errors import SeqkitError, VerificationError

        try:
            return super().invoke(ctx)
        except VerificationError as exc:
            if exc.report is not None and not ctx.meta.get("json"):
                from seqkit.cli.common import print_report

                print_report(exc.report)
            raise click.ClickException(str(exc)) from None
        except SeqkitError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=SeqkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqkit")
def cli():
    """seqkit: recurrent sequence models from pluggable cells and tasks, exported to verified ONNX.

    \b
    Examples:
      seqkit plugins                     list cells and tasks, and where they come from
      seqkit export --cell gru           write gru-classification.onnx and verify it
      seqkit verify gru-classification.onnx
      seqkit train --data basic-motions --cell lstm --run-dir runs/bm
      seqkit evaluate runs/bm --data basic-motions
      seqkit export runs/bm -o bm.onnx
      seqkit diagnose gradients --cell rnn,lstm,gru
      seqkit generate runs/lm --prompt "The " --length 100 --seed 1
    """


def main(argv=None):
    cli.main(args=argv, prog_name="seqkit")
