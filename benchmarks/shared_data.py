"""Where benchmarks read data the project may not commit: ``../shared/data/NAME`` beside the project root (copied
from public repositories; see the docs for where users download it). Every developer and CI have that folder."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_data(name: str) -> Path:
    """``../shared/data/NAME`` resolved from the project root; a missing folder is an error naming it."""
    path = ROOT.parent / "shared" / "data" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: benchmarks read data the project may not commit from "
                                f"../shared/data beside the project root")
    return path
