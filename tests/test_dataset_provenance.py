"""Every data file seqkit ships has a README entry naming its origin: generated here, shipped by a package (PyPI,
Debian, npm), or a fixture derived from a package. Data copied from someone else's repository is never committed
(it lives in ../shared/data; see tests/conftest.py's shared_data)."""
import fnmatch
import re
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[1] / "seqkit" / "datasets"
ORIGINS = {"generated", "package", "derived from a package"}
REGISTRIES = ("PyPI", "Debian", "npm")
NOT_DATA = {"README.md", "__init__.py"}


def entries(readme: Path) -> list[tuple[list[str], str, str]]:
    """``(file patterns, origin, from)`` of each row of the README's "Origin of each file" table."""
    text = readme.read_text(encoding="utf-8")
    if "## Origin of each file" not in text:
        return []
    section = text.split("## Origin of each file", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) != 3 or cells[0] in ("file", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append((expand(re.findall(r"`([^`]+)`", cells[0])), cells[1], cells[2]))
    return rows


def expand(patterns: list[str]) -> list[str]:
    """``a_{train,test}.npz`` -> ``a_train.npz``, ``a_test.npz`` (one brace group); globs stay globs."""
    out = []
    for p in patterns:
        m = re.search(r"\{([^}]*)\}", p)
        out += [p[:m.start()] + alt + p[m.end():] for alt in m.group(1).split(",")] if m else [p]
    return out


def shipped() -> dict[Path, list[str]]:
    """Each folder holding shipped files -> the files' paths relative to it."""
    folders: dict[Path, list[str]] = {}
    for path in sorted(DATASETS.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.name in NOT_DATA:
            continue
        top = DATASETS / path.relative_to(DATASETS).parts[0] if path.parent != DATASETS else DATASETS
        folders.setdefault(top, []).append(path.relative_to(top).as_posix())
    return folders


def problems(folder: Path, files: list[str]) -> list[str]:
    readme = folder / "README.md"
    if not readme.is_file():
        return [f"{folder.name}/{f}: no README.md beside it" for f in files]
    rows = entries(readme)
    found = []
    for patterns, origin, source in rows:
        if origin not in ORIGINS:
            found.append(f"{readme}: origin {origin!r} for {patterns}; one of {sorted(ORIGINS)}")
        if origin != "generated" and not any(r in source for r in REGISTRIES):
            found.append(f"{readme}: {patterns} is from a package but names no {'/'.join(REGISTRIES)} package")
        if re.search(r"github|gitlab|bitbucket", source, re.I):
            found.append(f"{readme}: {patterns} names a repository as its source")
    for f in files:
        matched = [p for patterns, _, _ in rows for p in patterns if fnmatch.fnmatchcase(f, p)]
        if not matched:
            found.append(f"{folder.name}/{f}: no row of the 'Origin of each file' table in {readme.name} names it")
    return found


def test_every_shipped_data_file_names_its_origin():
    folders = shipped()
    assert {f.name for f in folders} >= {"classification", "forecasting", "speech", "video"}
    assert not (DATASETS / "sentiment").exists()  # copied from a repository: read from where the user keeps it
    found = [p for folder, files in folders.items() for p in problems(folder, files)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("row,expected", [
    ("| `x.npz` | generated | `scripts/make.py` |", []),
    ("| `x_{a,b}.csv` | derived from a package | PyPI `aeon` |", []),
    ("| `x.npz` | copied | GitHub someone/data |", ["origin 'copied'", "names no PyPI", "names a repository"]),
    ("| `x.npz` | package | github.com/someone/data, also on PyPI |", ["names a repository"]),
    ("| `y.npz` | generated | `scripts/make.py` |", ["x.npz: no row"]),
])
def test_the_check_fails_for_a_file_without_an_origin(tmp_path, row, expected):
    folder = tmp_path / "things"
    folder.mkdir()
    (folder / "README.md").write_text(f"# t\n\n## Origin of each file\n\n| file | origin | from |\n|---|---|---|\n"
                                      f"{row}\n\n## Other\n")
    found = problems(folder, ["x.npz"] if "x_" not in row else ["x_a.csv", "x_b.csv"])
    assert len(found) == len(expected) and all(e in p for e, p in zip(expected, found)), found
    assert problems(tmp_path, ["stray.npz"]) == ["things/stray.npz: no README.md beside it".replace("things",
                                                                                                  tmp_path.name)]
