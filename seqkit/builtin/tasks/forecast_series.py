"""Forecasting's learnt series embedding (``-T series_embedding=N``, DeepAR's item embedding): one learnt
N-vector per series of the training panel, fed to the cell beside every step's (scaled) values.

The series ids are recorded by ``fit()`` (``series_ids``, in the training table's order) and in the exported
metadata; the file takes a second input ``series_id`` int64 ``[batch]``, the index into that list, which
``seqkit predict`` fills from the id column of a long-format table. An id the model never saw is refused with
one error naming it (there is no learnt vector for it): forecast such series with a model trained without
``series_embedding`` (mean scaling alone serves unseen series).
"""
from __future__ import annotations

import torch
from torch import nn

from seqkit.core.task import TensorSpec
from seqkit.errors import ConfigError, SeqkitError


class SeriesEmbedding(nn.Module):
    """``x [b, t, F]`` and ``series_id [b]`` -> ``[b, t, F + N]``: each step with its series' vector."""

    def __init__(self, count: int, size: int):
        super().__init__()
        self.table = nn.Embedding(count, size)
        with torch.no_grad():
            self.table.weight.normal_(0.0, 0.1)

    def forward(self, x, series_id):
        e = self.table(series_id.reshape(-1))  # [b, N]
        return torch.cat([x, e.unsqueeze(1).expand(-1, x.shape[1], -1)], -1)


def series_embedding(config) -> SeriesEmbedding | None:
    if config.series_embedding <= 0:
        return None
    return SeriesEmbedding(max(len(config.series_ids), 1), config.series_embedding)


def series_id_specs(config) -> list[TensorSpec]:
    if config.series_embedding <= 0:
        return []
    return [TensorSpec("series_id", ("batch",), "int64", "each window's series: its index in the task metadata's "
                       "series_ids (the training series)", kind="ids", high=max(len(config.series_ids), 1))]


def fit_series_ids(config, data) -> list[str]:
    """The training series' ids (``series_embedding`` only; it needs a table of several series)."""
    if config.series_embedding < 0:
        raise ConfigError(f"series_embedding must be >= 0, got {config.series_embedding}")
    if config.series_embedding == 0:
        return []
    segments = getattr(data, "segments", None)
    if not segments or len(segments) < 2:
        raise ConfigError("series_embedding learns one vector per series: it needs a table of several series "
                          "(long format with -T id_column=NAME, or a folder of series)")
    return [str(sid) for sid, _, _ in segments]


def series_index(config, samples) -> torch.Tensor:
    """The ``series_id`` input of a batch: each window's series looked up in ``config.series_ids``."""
    known = {sid: i for i, sid in enumerate(config.series_ids)}
    out = []
    for sample in samples:
        sid = getattr(sample, "series", None)
        if sid not in known:
            raise SeqkitError(f"series {sid!r} was not in the training data, so the series embedding has no vector "
                              f"for it (known: {', '.join(config.series_ids[:8])}"
                              f"{', ...' if len(config.series_ids) > 8 else ''}); use a model trained without "
                              f"-T series_embedding for new series")
        out.append(known[sid])
    return torch.tensor(out, dtype=torch.int64)
