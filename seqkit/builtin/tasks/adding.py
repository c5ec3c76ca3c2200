"""Built-in task ``adding``: the adding problem, a synthetic long-dependency benchmark.

Form of Arjovsky, Shah & Bengio 2016 (after Hochreiter & Schmidhuber 1997): input ``series`` float32
``[batch, time, 2]``; channel 0 holds values from U[0, 1], channel 1 is a marker with exactly one 1 in the first
half of the sequence and one in the second half. The target is the sum of the two marked values, the output
``prediction`` ``[batch, 1]``, the loss MSE. Always predicting 1 (the target's mean) scores MSE 1/6 ~ 0.167,
the baseline a model must beat; solving the task means remembering a value for up to ``length`` steps.

Data are generated, seeded, never downloaded: ``load_data("adding", split)`` gives ``num_samples`` sequences of
``length`` steps for split ``train`` and ``num_eval`` for ``val`` / ``test`` (different seeds per split).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqkit import hookimpl
from seqkit.core.task import Dataset, Task, TensorSpec
from seqkit.errors import ConfigError
from seqkit.kit.baselines import Ridge
from seqkit.kit.heads import pool

SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass
class AddingConfig:
    length: int = 100          # time steps T of generated sequences (the model accepts any length)
    num_samples: int = 10000   # sequences in the train split
    num_eval: int = 1000       # sequences in the val and test splits
    seed: int = 0              # data seed; each split derives its own


class AddingData:
    """Generated adding-problem samples: ``series`` float32 ``[n, T, 2]`` and ``target`` float32 ``[n]``."""

    def __init__(self, series: np.ndarray, target: np.ndarray):
        self.series, self.target = series, target

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, i):
        return self.series[i], self.target[i]


def generate(n: int, length: int, seed: int) -> AddingData:
    """``n`` sequences of ``length`` steps; one marker uniformly in each half, target = sum of marked values."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = (values[rows, first] + values[rows, second]).astype(np.float32)
    return AddingData(np.stack([values, markers], axis=-1), target)


class _Encoder(nn.Module):
    def forward(self, series):
        return series, None


class _Head(nn.Module):
    def __init__(self, in_size: int):
        super().__init__()
        self.proj = nn.Linear(in_size, 1)

    def forward(self, outputs, state, lengths):
        return (self.proj(pool(outputs, state, lengths, "last")),)


class AddingTask(Task):
    """Adding problem (Arjovsky et al. 2016): sum the two marked values of a long sequence; MSE, baseline 0.167."""

    CAPABILITIES = frozenset({"baselines", "streaming"})

    Config = AddingConfig

    def validate(self):
        c = self.config
        if not isinstance(c.length, int) or c.length < 2:
            raise ConfigError(f"adding length must be an integer >= 2 (one marker per half), got {c.length!r}")
        for name in ("num_samples", "num_eval"):
            if not isinstance(getattr(c, name), int) or getattr(c, name) <= 0:
                raise ConfigError(f"adding {name} must be a positive integer, got {getattr(c, name)!r}")
        if not isinstance(c.seed, int) or c.seed < 0:
            raise ConfigError(f"adding seed must be a non-negative integer, got {c.seed!r}")

    def inputs(self):
        return [TensorSpec("series", ("batch", "time", 2), "float32",
                           "channel 0: values in [0, 1]; channel 1: 1 at the two values to add, else 0")]

    def outputs(self):
        return [TensorSpec("prediction", ("batch", 1), "float32", "predicted sum of the two marked values")]

    def feature_size(self):
        return 2

    def build_encoder(self):
        return _Encoder()

    def build_head(self, cell_output_size):
        return _Head(cell_output_size)

    DATASETS = {"adding": Dataset("generated adding problem: length, num_samples, num_eval and seed from the task "
                                  "config", splits=tuple(SPLITS))}

    def load_dataset(self, name: str, split: str) -> AddingData:
        c = self.config
        n = c.num_samples if split == "train" else c.num_eval
        return generate(n, c.length, seed=c.seed * len(SPLITS) + SPLITS[split])

    def collate(self, samples):
        series = torch.from_numpy(np.stack([s for s, _ in samples]))
        target = torch.tensor([t for _, t in samples], dtype=torch.float32).unsqueeze(1)
        return (series,), target

    def loss(self, outputs, target):
        return nn.functional.mse_loss(outputs[0], target)

    def metrics(self, outputs, target):
        return {"mse": nn.functional.mse_loss(outputs[0], target).item()}

    def baseline(self, train, test):
        """Always predict 1 (the expected sum): MSE = Var(U1 + U2) = 1/6 in expectation."""
        target = np.array([t for _, t in test], dtype=np.float64)  # AddingData or a list of its samples
        return {"mse": float(np.mean((target - 1.0) ** 2))}

    def baselines(self, train, test):
        """``predict 1`` (:meth:`baseline`) and ``ridge``: ridge regression on the whole flattened sequence (values
        and markers), fitted on ``train`` (regenerated from the config for a saved run). A linear model cannot
        multiply a value by its marker, so it stays near 1/6: the task needs a model that remembers."""
        out = {"predict 1": self.baseline(train, test)}
        train = train if train is not None else self.load_data("adding", "train")
        if len(train) and len({s.shape for s, _ in _items(test)} | {train[0][0].shape}) == 1:
            model = Ridge().fit(np.stack([s.reshape(-1) for s, _ in _items(train)]), np.array([t for _, t in
                                                                                               _items(train)]))
            pred = model.predict(np.stack([s.reshape(-1) for s, _ in _items(test)]))
            out["ridge"] = {"mse": float(np.mean((pred - np.array([t for _, t in _items(test)])) ** 2))}
        return out

    def main_metric(self):
        return ("mse", "min")

    def metadata(self):
        return {"length": self.config.length, "baseline_mse": 1.0 / 6.0}


def _items(data):
    return (data[i] for i in range(len(data)))


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("adding", AddingTask)
