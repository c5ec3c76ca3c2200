"""The ``seqkit`` command: a thin layer over the Python API (parse options, call, print).

Commands are registered explicitly in :data:`COMMANDS` and imported only when used (or listed by --help), so
``seqkit --help`` imports neither torch nor onnxruntime. Each command module imports nothing heavy at the top:
the API it calls is imported inside the command. Shared options, parsing and printing live in common.py.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from seqkit._version import __version__

#: command name -> "module:attribute" of its click command, in the order --help lists them
COMMANDS = {
    "plugins": "seqkit.cli.models:plugins",
    "export": "seqkit.cli.models:export",
    "verify": "seqkit.cli.models:verify",
    "train": "seqkit.cli.training:train",
    "tune": "seqkit.cli.tune:tune",
    "evaluate": "seqkit.cli.training:evaluate",
    "datasets": "seqkit.cli.training:datasets",
    "diagnose": "seqkit.cli.diagnose:diagnose",
    "predict": "seqkit.cli.predict:predict",
    "bench": "seqkit.cli.bench:bench",
    "quantize": "seqkit.cli.quantize:quantize",
    "generate": "seqkit.cli.generate:generate",
    "plugin": "seqkit.cli.template:plugin",
    "serve": "seqkit.cli.serve:serve",
    "triton": "seqkit.cli.triton:triton",
}


def _installed(name: str) -> bool:
    """Whether a command's module is part of this install (the torch-free seqkit-serve distribution ships only
    predict and serve)."""
    import importlib.util

    return importlib.util.find_spec(COMMANDS[name].split(":")[0]) is not None


class SeqkitGroup(click.Group):
    """Lazily loads commands from :data:`COMMANDS`; turns :class:`SeqkitError` into one line on stderr and exit
    code 1, without a traceback."""

    def list_commands(self, ctx):
        return [name for name in COMMANDS if _installed(name)]

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None or not _installed(name):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def main(self, *args, **kwargs):
        """SIGTERM raises :class:`seqkit.errors.Terminated` while the command runs, so that cleanup (temporary
        files) happens; Ctrl-C and SIGTERM end with one line and exit code 130 / 143, never a traceback."""
        import signal
        import threading

        from seqkit.files import raise_terminated

        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, raise_terminated) if main_thread else None
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt as exc:  # outside invoke (argument parsing), or standalone_mode=False
            _interrupted(exc)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    def invoke(self, ctx):
        from seqkit.errors import SeqkitError, VerificationError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # Ctrl-C anywhere in a command: imports, plugin loading, export...
            _interrupted(exc)
        except click.UsageError as exc:  # one line, like every other error, with where to look
            command = (exc.ctx or ctx).command_path
            error = click.ClickException(f"{exc.format_message().rstrip('.')}; see '{command} --help'")
            error.exit_code = exc.exit_code
            raise error from None
        except MemoryError:
            raise click.ClickException("out of memory; choose smaller sizes (model, data or batch)") from None
        except VerificationError as exc:
            if exc.report is not None and not ctx.meta.get("json"):
                from seqkit.cli.common import print_report

                print_report(exc.report)
            raise click.ClickException(str(exc)) from None
        except SeqkitError as exc:
            raise click.ClickException(str(exc)) from None


def _interrupted(exc: KeyboardInterrupt):
    """One line on stderr and the shell's exit code for the signal (128 + its number)."""
    from seqkit.errors import Terminated

    terminated = isinstance(exc, Terminated)
    if not os.environ.get("SEQKIT_NPROC"):  # a process of `--nproc N`: its launcher prints the one line
        click.echo("terminated" if terminated else "interrupted", err=True)
    sys.exit(128 + (15 if terminated else 2))


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
      seqkit evaluate runs/bm
      seqkit tune --data basic-motions --param lr=float:1e-4..1e-2:log --trials 20 --run-dir runs/tune-bm
      seqkit datasets                    every task's built-in datasets
      seqkit export runs/bm -o bm.onnx
      seqkit diagnose gradients --cell rnn,lstm,gru
      seqkit predict bm.onnx motions.npz -o predictions.csv
      seqkit bench --cells rnn --batch 64 --time 200
      seqkit quantize gru-classification.onnx --int8
      seqkit generate runs/lm --prompt "The " --length 100 --seed 1
      seqkit plugin new cell my-cell     a pip-installable plugin package to start from
    """


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="seqkit")
    except KeyboardInterrupt as exc:  # between the handlers above, e.g. while click starts
        _interrupted(exc)
