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
def plugins():
    """A fresh plugin manager for each test: no registry state leaks between tests."""
    return seqkit.load_plugins()
