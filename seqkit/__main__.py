"""``python -m seqkit`` runs the CLI."""
from .cli import main

main()
