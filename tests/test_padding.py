"""With lengths, padded positions never influence a result: a padded batch equals each sequence run alone."""
import numpy as np
import pytest
import torch

import seqkit
from seqkit.runtime import open_session


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_cell_padded_batch_equals_each_sequence_alone(plugins, cell, bidirectional):
    torch.manual_seed(0)
    module = plugins.cell(cell)(4, seqkit.CellConfig(hidden_size=5, num_layers=2, bidirectional=bidirectional)).eval()
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, 4)
    with torch.no_grad():
        out, state = module(x, lengths)
        garbage = x.clone()
        for i, n in enumerate(lengths):
            garbage[i, n:] = 1e3 * torch.randn_like(garbage[i, n:])
        out_g, state_g = module(garbage, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone, alone_state = module(x[i:i + 1, :n])
            torch.testing.assert_close(out[i, :n], alone[0], rtol=1e-5, atol=1e-6)
            assert torch.all(out[i, n:] == 0)
            for s, s_alone in zip(state, alone_state):
                torch.testing.assert_close(s[:, i], s_alone[:, 0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, out_g)  # values in padded positions change nothing
    for s, s_g in zip(state, state_g):
        torch.testing.assert_close(s, s_g)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_onnx_model_ignores_padding(tmp_path, plugins, pooling):
    composition = seqkit.compose("gru", task_config={"pooling": pooling},
                                 cell_config=seqkit.CellConfig(hidden_size=6, bidirectional=True), plugins=plugins)
    seqkit.export(composition, tmp_path / "m.onnx")
    sess = open_session(str(tmp_path / "m.onnx"))
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 100, size=(3, 9)).astype(np.int64)
    lengths = np.array([9, 4, 1], dtype=np.int64)
    batch = sess.run({"tokens": tokens, "lengths": lengths})[0]
    for i, n in enumerate(lengths):
        alone = sess.run({"tokens": tokens[i:i + 1, :n], "lengths": lengths[i:i + 1]})[0]
        np.testing.assert_allclose(batch[i], alone[0], rtol=1e-5, atol=1e-6)
