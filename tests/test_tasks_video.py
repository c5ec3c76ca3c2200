"""The video-frames task: camera-pan clips with checkable labels, per-frame conv encoder, export, training."""
import numpy as np
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.video import MOTIONS, pan_clip
from seqkit.training import TrainConfig, evaluate, prepare, train


def task(plugins, **options):
    cls = plugins.task("video-frames")
    return cls(cls.config_from_dict(options))


@pytest.mark.parametrize("motion", MOTIONS)
def test_pan_labels_are_the_window_motion(motion):
    image = np.random.default_rng(1).integers(0, 256, (48, 48)).astype(np.uint8)
    clip = pan_clip(image, motion, length=6, speed=2, size=24, rng=np.random.default_rng(0), noise=0.0)[:, 0]
    a, b, s = clip[:-1], clip[1:], 2
    expected = {"static": (b, a), "right": (b[:, :, :-s], a[:, :, s:]), "left": (b[:, :, s:], a[:, :, :-s]),
                "down": (b[:, :-s], a[:, s:]), "up": (b[:, s:], a[:, :-s])}[motion]
    np.testing.assert_array_equal(*expected)
    assert motion == "static" or not np.array_equal(a, b)


def test_camera_pan_dataset(plugins):
    t = task(plugins, train_clips=100)
    tr, te = t.load_data("camera-pan", "train"), t.load_data("camera-pan", "test")
    assert (len(tr), len(te)) == (100, 25)
    assert {s.label for s in tr} == set(MOTIONS) and {s.x.shape[1:] for s in tr} == {(1, 24, 24)}
    assert 6 <= min(len(s.x) for s in tr) and max(len(s.x) for s in tr) <= 12
    again = t.load_data("camera-pan", "test")
    assert all(np.array_equal(a.x, b.x) and a.label == b.label for a, b in zip(te, again))  # same clips each time
    with pytest.raises(SeqkitError, match="camera-pan clips are 1x24x24"):
        task(plugins, height=32).load_data("camera-pan", "train")


def test_user_npz_and_bad_data(plugins, tmp_path):
    clips = np.random.default_rng(0).random((6, 5, 3, 8, 8)).astype(np.float32)
    labels = np.array(["cat", "dog"] * 3)
    np.savez(tmp_path / "ok.npz", clips=clips, labels=labels, lengths=np.array([5, 4, 3, 5, 2, 1]))
    t = task(plugins)
    data = t.load_data(str(tmp_path / "ok.npz"), "train")
    t.fit(data)
    c = t.config
    assert (c.channels, c.height, c.width, c.labels, len(c.mean)) == (3, 8, 8, ["cat", "dog"], 3)
    (x, lengths), y = t.collate(data)
    assert x.shape == (6, 5, 3, 8, 8) and lengths.tolist() == [5, 4, 3, 5, 2, 1] and y.tolist() == [0, 1] * 3
    np.savez(tmp_path / "bad.npz", clips=clips[:, :, :, :, :4], labels=labels)
    with pytest.raises(SeqkitError, match=r"bad.npz item 0: steps of shape \[3, 8, 4\]"):
        t.collate(t.load_data(str(tmp_path / "bad.npz"), "test"))
    np.savez(tmp_path / "flat.npz", clips=clips[:, :, 0], labels=labels)
    with pytest.raises(SeqkitError, match=r"flat.npz: clips must be numeric \[items, time, any, any, any\]"):
        t.load_data(str(tmp_path / "flat.npz"), "train")
    with pytest.raises(ConfigError, match="conv_channels"):
        task(plugins, conv_channels=[])
    with pytest.raises(ConfigError, match=r"std\[0\] is 0"):  # the encoder would divide by it
        task(plugins, motion_features=True, motion_mean=[0.0] * 6, motion_std=[0.0] * 6)
    with pytest.raises(ConfigError, match="5 means and stds for 6 motion features"):
        task(plugins, motion_features=True, motion_mean=[0.0] * 5, motion_std=[1.0] * 5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fitted_model_exports_and_verifies(plugins, tmp_path, cell):
    prepared = prepare(cell, "video-frames", "camera-pan", CellConfig(hidden_size=8),
                       {"train_clips": 20, "conv_channels": [4, 8], "frame_features": 16,
                        "motion_features": cell == "gru"}, plugins=plugins)
    result = seqkit.export(prepared.composition, tmp_path / "v.onnx")
    assert result.report.ok, result.report.failures()


def test_padding_does_not_change_a_clip(plugins):
    prepared = prepare("gru", "video-frames", "camera-pan", CellConfig(hidden_size=8),
                       {"train_clips": 20, "motion_features": True}, plugins=plugins)
    c = prepared.composition
    (x, lengths), _ = c.task.collate(prepared.train_data[:5])
    x = x + torch.randn_like(x) * (torch.arange(x.shape[1]) >= lengths[:, None]).float()[..., None, None, None]
    with torch.no_grad():
        batch = c.model(x, lengths)[0]
        alone = torch.cat([c.model(x[i:i + 1, :lengths[i]], lengths[i:i + 1])[0] for i in range(5)])
    torch.testing.assert_close(batch, alone, rtol=1e-5, atol=1e-5)


def test_training_learns_camera_motion(plugins, tmp_path):
    prepared = prepare("gru", "video-frames", "camera-pan", CellConfig(hidden_size=16), {"train_clips": 300},
                       plugins=plugins)
    result = train(prepared.composition, prepared.train_data, prepared.val_data,
                   TrainConfig(epochs=5, lr=3e-3, progress=False), run_dir=tmp_path / "run")
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    scores = evaluate(tmp_path / "run", "camera-pan", plugins=plugins)
    assert scores["samples"] == 75 and scores["baseline"]["accuracy"] == pytest.approx(0.2)
    assert scores["accuracy"] > scores["baseline"]["accuracy"]


def test_motion_features_in_the_model_are_the_baselines_descriptor():
    from seqkit.builtin.tasks.video_frames import flow_terms
    from seqkit.kit.video import motion_features

    clips = np.random.default_rng(3).random((2, 6, 1, 10, 12)).astype(np.float32)
    np.testing.assert_allclose(flow_terms(torch.from_numpy(clips)).numpy(),
                               np.stack([motion_features(c) for c in clips]), rtol=1e-4, atol=1e-7)
