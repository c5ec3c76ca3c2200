import pytest
import torch

import seqkit


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
