import pytest

import seqkit


@pytest.fixture
def plugins():
    """A fresh plugin manager for each test: no registry state leaks between tests."""
    return seqkit.load_plugins()
