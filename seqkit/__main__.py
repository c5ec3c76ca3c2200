"""``python -m seqkit`` and the ``seqkit`` command (the console script points here, not at seqkit.cli, so that a
Ctrl-C while click and the CLI are still being imported also ends with one line and exit code 130)."""
import sys


def main(argv=None):
    try:
        from seqkit.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    cli_main(argv)


if __name__ == "__main__":
    main()
