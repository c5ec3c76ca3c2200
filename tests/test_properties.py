"""Property: for random cell configurations and shapes, onnxruntime equals PyTorch."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqkit
from seqkit.runtime import open_session

configs = st.fixed_dictionaries({
    "cell": st.sampled_from(["rnn", "lstm", "gru"]),
    "hidden": st.integers(1, 12),
    "layers": st.integers(1, 3),
    "bidirectional": st.booleans(),
    "pooling": st.sampled_from(["last", "mean", "max"]),
    "relu": st.booleans(),
})
shapes = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 30)), min_size=1, max_size=3)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs, shapes=shapes, seed=st.integers(0, 2**16))
def test_onnx_equals_torch(tmp_path_factory, config, shapes, seed):
    options = {"nonlinearity": "relu"} if config["cell"] == "rnn" and config["relu"] else {}
    cell_config = seqkit.CellConfig(hidden_size=config["hidden"], num_layers=config["layers"],
                                    bidirectional=config["bidirectional"], options=options)
    c = seqkit.compose(config["cell"], cell_config=cell_config, task_config={"pooling": config["pooling"]}, seed=seed)
    path = tmp_path_factory.mktemp("prop") / "m.onnx"
    seqkit.export(c, path, verify=False)
    sess = open_session(str(path))
    rng = np.random.default_rng(seed)
    for batch, time in shapes:
        tokens = rng.integers(0, 100, size=(batch, time)).astype(np.int64)
        lengths = rng.integers(1, time + 1, size=batch).astype(np.int64)
        got = sess.run({"tokens": tokens, "lengths": lengths})[0]
        with torch.no_grad():
            want = c.model(torch.from_numpy(tokens), torch.from_numpy(lengths))[0].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
