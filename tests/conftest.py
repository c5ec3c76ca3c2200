from pathlib import Path

import numpy as np
import pytest
import torch

import seqkit

collect_ignore = ["compat_0_1"]  # 0.1 plugin packages kept as they were; tests/test_compat_0_1.py runs them

ROOT = Path(__file__).resolve().parents[1]
MOTIONS = ROOT / "seqkit" / "datasets" / "classification" / "basic_motions_train.npz"


def shared_data_path(name: str) -> Path:
    """``../shared/data/NAME`` beside the project root: data copied from public repositories, which the project
    never commits (see /work/shared/data.md). Developers and CI always have it, so a missing folder fails the
    test (no skip)."""
    path = ROOT.parent / "shared" / "data" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: tests read data the project may not commit from ../shared/data "
                                f"beside the project root")
    return path


@pytest.fixture
def shared_data():
    """``shared_data(name) -> Path`` of ``../shared/data/NAME`` (:func:`shared_data_path`)."""
    return shared_data_path


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine more threads make these small models many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """``run(*args)``: the ``seqkit`` CLI in-process (click's runner) in a fresh working folder; exceptions
    propagate, so a traceback fails the test instead of hiding in ``result.output``."""
    from click.testing import CliRunner

    from seqkit.cli import cli

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def plugins():
    """A fresh plugin manager for each test: no registry state leaks between tests."""
    return seqkit.load_plugins()


@pytest.fixture(scope="session")
def deployed(tmp_path_factory):
    """``deployed(case, streaming=False) -> Deployed(path, composition, export result)``: small exported models of
    every built-in task (tests/deploy_cases.py), exported once per session and shared by the runtime, predict,
    streaming and torch-free tests."""
    from deploy_cases import export

    directory = tmp_path_factory.mktemp("deployed")
    cache = {}

    def get(case: str, streaming: bool = False):
        if (case, streaming) not in cache:
            cache[case, streaming] = export(case, directory, streaming)
        return cache[case, streaming]
    return get


def write_npz_shards(folder, arrays, sizes, key="X", label="y"):
    """``arrays[key]``/``arrays[label]`` cut into .npz shards of ``sizes`` items in ``folder``, in name order."""
    folder.mkdir()
    start = 0
    for i, n in enumerate(sizes):
        np.savez(folder / f"part-{i:03d}.npz", **{key: arrays[key][start:start + n],
                                                  label: arrays[label][start:start + n]})
        start += n
    return folder


@pytest.fixture
def npz_shards():
    """``npz_shards(folder, arrays, sizes, key="X", label="y") -> folder``: see :func:`write_npz_shards`."""
    return write_npz_shards


@pytest.fixture
def motions(tmp_path):
    """``(folder, arrays)``: basic-motions' training file (40 samples) as 5 .npz shards of 9, 9, 9, 9, 4 samples,
    and the file's arrays."""
    with np.load(MOTIONS) as z:
        arrays = {k: z[k] for k in z.files}
    return write_npz_shards(tmp_path / "motions", arrays, [9, 9, 9, 9, 4]), arrays
