"""Forecasting panels: a learnt series embedding (-T series_embedding=N) and a folder of series read as one
long-format table."""
from importlib.resources import files
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from seqkit.errors import ConfigError, SeqkitError


def _employment() -> list[str]:
    return (files("seqkit") / "datasets" / "forecasting" / "us_employment.csv").read_text().splitlines()


def _sectors(names):
    """``{sector: [(month, employees), ...]}`` of the shipped panel."""
    out = {}
    for line in _employment()[1:]:
        sector, month, value = line.split(",")
        if sector in names:
            out.setdefault(sector, []).append((month, value))
    return out


def test_series_embedding_feeds_each_series_its_vector():
    from seqkit.builtin.tasks.forecast_windows import Window
    from seqkit.training.trainer import prepare

    prepared = prepare("gru", "forecasting", "us-employment", task_config={"lookback": 8, "horizon": 3,
                                                                           "series_embedding": 3})
    model, task = prepared.composition.model.eval(), prepared.composition.task
    assert [s.name for s in task.inputs()] == ["series", "series_id"] and len(task.config.series_ids) == 14
    assert task.metadata()["series_ids"] == task.config.series_ids
    val = prepared.val_data
    (x, ids), _ = task.collate([val[0], val[len(val) - 1]])
    assert ids.tolist() == [task.config.series_ids.index(val[0].series),
                            task.config.series_ids.index(val[len(val) - 1].series)] and ids[0] != ids[1]
    with torch.no_grad():
        same = model(x, ids)[0]
        other = model(x, ids.flip(0))[0]  # the same windows told they are the other series
    assert not torch.allclose(same, other)
    sample = val[0]
    with pytest.raises(SeqkitError, match="series 'nowhere' was not in the training data"):
        task.collate([Window(sample[0], sample[1], "nowhere")])
    cls = type(task)
    one = cls(cls.config_from_dict({"lookback": 12, "series_embedding": 2}))
    with pytest.raises(ConfigError, match="needs a table of several series"):
        one.fit(one.load_data("airline", "train"))


def test_a_folder_of_series_is_the_long_format_table(plugins, tmp_path):
    from seqkit.training.shards import load_data

    series = _sectors({"construction", "utilities", "information", "mining_and_logging"})
    folder = tmp_path / "panel"
    folder.mkdir()
    for name in ("construction", "utilities"):  # one series per file, named by the file
        (folder / f"{name}.csv").write_text("month,employees\n" + "".join(f"{m},{v}\n" for m, v in series[name]))
    (folder / "z_more.csv").write_text("sector,month,employees\n" + "".join(  # long format: two series
        f"{s},{m},{v}\n" for s in ("information", "mining_and_logging") for m, v in series[s]))
    long = tmp_path / "long.csv"
    long.write_text("sector,month,employees\n" + "".join(
        f"{s},{m},{v}\n" for s in ("construction", "utilities", "information", "mining_and_logging")
        for m, v in series[s]))
    cls = plugins.task("forecasting")
    options = {"lookback": 12, "horizon": 6, "id_column": "sector"}
    a, b = cls(cls.config_from_dict(options)), cls(cls.config_from_dict(options))
    from_folder, from_file = load_data(a, str(folder), "test"), b.load_data(str(long), "test")
    assert from_folder.panel and [s for s, _, _ in from_folder.segments] == [s for s, _, _ in from_file.segments]
    assert np.array_equal(from_folder.series, from_file.series)
    assert np.array_equal(from_folder.starts, from_file.starts) and len(from_folder) == 4 * 19  # 24 test months, h 6
    assert a.config.scaling == "mean" and a.config.time_column == "month"
    assert from_folder.time_label(int(from_folder.starts[0])) == "2014-01"
    (folder / "utilities_again.csv").write_text((folder / "z_more.csv").read_text().replace("information",
                                                                                          "utilities"))
    with pytest.raises(SeqkitError, match="series 'utilities' is in both utilities.csv and utilities_again.csv"):
        cls(cls.config_from_dict(options)).load_data(str(folder), "train")
    (folder / "utilities_again.csv").write_text("month,jobs\n2006-01,1\n")
    with pytest.raises(SeqkitError, match="jobs"):
        cls(cls.config_from_dict(options)).load_data(str(folder), "train")


def test_predict_gives_each_series_its_id_and_refuses_an_unknown_one(tmp_path):
    from seqkit.runtime.readers import read_samples

    model = SimpleNamespace(task_metadata={"columns": ["employees"], "lookback": 3, "id_column": "sector",
                                           "series_ids": ["construction", "utilities"]},
                            encoder=SimpleNamespace(tokenizer=SimpleNamespace(takes_text=False)))
    table = tmp_path / "two.csv"
    table.write_text("sector,month,employees\n" + "".join(f"{s},2020-0{m},{m}\n" for s in ("utilities",
                                                                                          "construction")
                                                          for m in range(1, 5)))
    samples, sources = read_samples(table, model)
    assert [int(s["series_id"]) for s in samples] == [1, 0] and samples[0]["series"].tolist() == [[2], [3], [4]]
    model.task_metadata["id_column"] = ""  # a model trained on a folder of one-series files: the file's stem
    one = tmp_path / "construction.csv"
    one.write_text("month,employees\n2020-01,1\n2020-02,2\n2020-03,3\n")
    assert int(read_samples(one, model)[0][0]["series_id"]) == 0
    other = tmp_path / "farming.csv"
    other.write_text(one.read_text())
    with pytest.raises(SeqkitError, match="series 'farming' was not in the model's training data"):
        read_samples(other, model)
