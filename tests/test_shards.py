"""A folder of shards is read lazily, one shard at a time, by every built-in task that reads files, and trains
and evaluates like the same samples in one file."""
import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.training import TrainConfig, evaluate, prepare, train
from seqkit.training.distributed import Group, World, join
from seqkit.training.launch import free_port
from seqkit.training.shards import KEEP, ShardedData, epoch_batches, load_data
from seqkit.training.trainer import carve

DATASETS = Path(__file__).resolve().parents[1] / "seqkit" / "datasets"  # not the working folder
MOTIONS = str(DATASETS / "classification" / "basic_motions_train.npz")


def test_npz_shards_are_the_file_samples_read_one_shard_at_a_time(plugins, motions):
    folder, arrays = motions
    task = plugins.task("classification")()
    data = load_data(task, folder)
    assert isinstance(data, ShardedData) and data.loads == 0  # nothing read yet
    assert len(data) == 40 and data.loads == 5                # counting reads each shard once
    whole = task.load_data(MOTIONS)
    for i in (0, 8, 9, 17, 39, -1):
        assert data[i].label == whole[i].label and np.array_equal(data[i].x, whole[i].x)
    assert [s.label for s in data] == [s.label for s in whole]
    assert len(data._cache) <= KEEP
    with pytest.raises(IndexError):
        data[40]


def test_shuffled_batches_are_shard_blocked_so_an_epoch_decodes_each_shard_about_once(plugins, motions):
    folder, _ = motions
    data = load_data(plugins.task("classification")(), folder)
    len(data)
    before = data.loads
    order = [i for batch in epoch_batches(data, 4, shuffle=True, seed=[0, 1]) for i in batch]
    assert sorted(order) == list(range(40)) and order != sorted(order)
    shards = data.shard_of(np.array(order))
    assert (np.diff(shards) != 0).sum() == 4            # each shard's samples come together
    for i in order:
        data[i]
    assert data.loads - before <= 5                     # each shard decoded at most once in the pass
    again = [i for batch in epoch_batches(data, 4, shuffle=True, seed=[0, 1]) for i in batch]
    assert again == order                                # seeded
    plain = [i for batch in epoch_batches(list(range(40)), 4, shuffle=True, seed=[0, 1]) for i in batch]
    assert plain == np.random.default_rng([0, 1]).permutation(40).tolist()  # in-memory data: as before


def test_prepare_on_shards_fits_what_it_fits_on_the_file_and_trains_and_evaluates(plugins, motions, tmp_path):
    folder, _ = motions
    cell = CellConfig(hidden_size=8)
    on_file = prepare("gru", "classification", MOTIONS, cell, val_fraction=0.25, plugins=plugins)
    on_shards = prepare("gru", "classification", folder, cell, val_fraction=0.25, plugins=plugins)
    fitted = [dataclasses.replace(p.composition.task.config, train_source="") for p in (on_shards, on_file)]
    assert fitted[0] == fitted[1]  # same split, same fit (train_source names the folder or the file)
    assert on_shards.composition.task.config.train_source == str(folder)
    assert len(on_shards.train_data) == 32 and len(on_shards.val_data) == 8
    assert [s.where for s in on_shards.val_data] != [s.where for s in on_file.val_data]  # read from the shards
    assert [s.label for s in on_shards.val_data] == [s.label for s in on_file.val_data]
    result = train(on_shards.composition, on_shards.train_data, on_shards.val_data,
                   TrainConfig(epochs=1, batch_size=8, progress=False), run_dir=tmp_path / "run")
    assert json.loads((result.run_dir / "config.json").read_text())["samples"] == {"train": 32, "val": 8}
    on_folder, on_file = (evaluate(result.run_dir, d, plugins=plugins) for d in (folder, MOTIONS))
    assert on_folder.pop("data")["source"] == str(folder) and on_file.pop("data")
    assert on_folder.pop("plots") != on_file.pop("plots")  # each named after its data
    assert on_folder == on_file  # the same samples, scored alike
    assert set(on_folder["baselines"]) == {"majority", "ridge"}  # ridge refitted on the recorded shard folder


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_text_shards_csv_and_jsonl(plugins, tmp_path, suffix):
    with open(DATASETS / "classification" / "fortunes_train.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:60]
    folder = tmp_path / "texts"
    folder.mkdir()
    for i in range(3):
        part = rows[i * 20:(i + 1) * 20]
        path = folder / f"{i}{suffix}"
        if suffix == ".csv":
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, ["text", "label"])
                writer.writeheader()
                writer.writerows(part)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in part))
    (folder / "README.md").write_text("not a shard")  # other files are ignored
    task = plugins.task("classification")()
    data = load_data(task, folder)
    assert len(data) == 60 and [s.x for s in data] == [r["text"] for r in rows]
    assert data[25].where.endswith("1" + suffix + " line " + ("7" if suffix == ".csv" else "6"))


def series_shards(folder):
    """Two random-walk series, ``a.csv`` (60 steps) and ``b.csv`` (40), as a forecasting shard folder."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("a", 60), ("b", 40)):
        values = np.cumsum(rng.normal(size=n))
        (folder / f"{name}.csv").write_text("t,sales\n" + "".join(f"{i},{v:.4f}\n" for i, v in enumerate(values)))
    return folder


def test_forecasting_shards_are_series_each_split_by_time(plugins, tmp_path):
    # forecasting reads a folder whole (READS_FOLDERS: one panel, as a long-format table): the same windows
    folder = series_shards(tmp_path / "stores")
    p = prepare("gru", "forecasting", folder, CellConfig(hidden_size=8), {"lookback": 6, "horizon": 2},
                val_fraction=0.2, plugins=plugins)
    task = p.composition.task
    single = [task.load_data(str(folder / f), "train") for f in ("a.csv", "b.csv")]
    assert len(p.val_data) > 0 and len(p.train_data) > len(p.val_data)
    for data, expect in ((p.train_data, 0), (p.val_data, 1)):  # the task's own split inside every series
        parts = [task.split_validation(w, 0.2, 0)[expect] for w in single]
        assert len(data) == sum(len(w) for w in parts)
        got = [data[i] for i in range(len(data))]
        want = [w[i] for w in parts for i in range(len(w))]
        assert all(np.array_equal(g[0], w[0]) and np.array_equal(g[1], w[1]) for g, w in zip(got, want))
    assert len(load_data(task, folder, "test")) == sum(len(task.load_data(str(folder / f), "test"))
                                                       for f in ("a.csv", "b.csv"))


def test_a_sharded_forecasting_run_backtests_on_its_folder_as_it_evaluates(plugins, tmp_path, run):
    folder = series_shards(tmp_path / "stores")
    p = prepare("gru", "forecasting", folder, CellConfig(hidden_size=8), {"lookback": 6, "horizon": 2},
                val_fraction=0.2, plugins=plugins)
    result = train(p.composition, p.train_data, p.val_data, TrainConfig(epochs=1, batch_size=8, progress=False),
                   run_dir=tmp_path / "run", sources=p.sources)
    scores = evaluate(result.run_dir, folder, plots=False, plugins=plugins)
    out = run("evaluate", result.run_dir, "--data", folder, "--backtest", "--json")  # failed: "is a directory"
    assert out.exit_code == 0, out.output
    bt = json.loads(out.output)
    assert bt["origins"] == scores["samples"] == 18  # every test window of both series (stride 1)
    assert bt["data"] == scores["data"] == {"source": str(folder), "kind": "file", "split": "test"}
    assert bt["scores"]["model"]["mae"] == pytest.approx(scores["mae"], rel=1e-5)
    # the strong baseline is refitted on the recorded folder (forecasting reads a folder whole: a panel, so the
    # linear AR is fitted per series)
    assert bt["scores"]["linear AR (per series)"]["mae"] == pytest.approx(
        scores["baselines"]["linear AR (per series)"]["mae"], rel=1e-5)
    assert bt["plots"] == [str(result.run_dir / "backtest-stores-test.png")]
    recorded = run("evaluate", result.run_dir, "--backtest", "--json")  # the test split config.json records
    assert recorded.exit_code == 0 and json.loads(recorded.output)["scores"] == bt["scores"]


def test_speech_and_video_npz_shards(plugins, tmp_path, npz_shards):
    rng = np.random.default_rng(1)
    speech = {"frames": rng.normal(size=(12, 9, 5)).astype(np.float32), "labels": np.array(list("ab") * 6)}
    task = plugins.task("speech-frames")()
    data = load_data(task, npz_shards(tmp_path / "speech", speech, [5, 7], "frames", "labels"))
    assert len(data) == 12 and np.array_equal(data[6].x, speech["frames"][6]) and data[6].label == "a"
    video = {"clips": rng.normal(size=(6, 4, 1, 8, 8)).astype(np.float32), "labels": np.array(list("xyz") * 2)}
    task = plugins.task("video-frames")(plugins.task("video-frames").make_config({"height": 8, "width": 8}))
    data = load_data(task, npz_shards(tmp_path / "video", video, [3, 3], "clips", "labels"))
    assert len(data) == 6 and np.array_equal(data[4].x, video["clips"][4]) and data[5].label == "z"


def test_too_few_samples_to_carve_is_one_error_for_memory_and_shards(plugins, motions):
    task = plugins.task("classification")()
    for data in (task.load_data(MOTIONS)[:1], load_data(task, motions[0]).select([0])):
        with pytest.raises(SeqkitError, match=r"^1 samples are too few to hold out a validation fraction of 0.5; "):
            carve(task, data, 0.5, 0)


def test_bad_shard_folders_are_one_line_errors(plugins, tmp_path):
    task = plugins.task("classification")()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_text("text,label\nhi,x\n")
    (mixed / "b.jsonl").write_text('{"text": "yo", "label": "y"}\n')
    with pytest.raises(SeqkitError, match="mixes shard types"):
        load_data(task, mixed)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.csv").write_text("text,label\nhi,x\n")
    (bad / "b.csv").write_text("text,label\nyo,\n")
    with pytest.raises(SeqkitError, match=r"b.csv line 2: column 'label' is missing or empty"):
        len(load_data(task, bad))


def test_each_process_takes_a_strided_share_and_weights_its_loss():
    batch = list(range(7))
    shares = [Group(World(r, 3)).mine(batch) for r in range(3)]
    assert shares == [[0, 3, 6], [1, 4], [2, 5]]
    weights = [Group(World(r, 3)).weight(len(s), len(batch)) for r, s in enumerate(shares)]
    assert weights == pytest.approx([9 / 7, 6 / 7, 6 / 7])  # each share's size against an even share
    # DDP averages the gradients: the mean of weight * local mean loss is the global mean loss
    loss = [float(i * i) for i in batch]
    local = [sum(loss[i] for i in s) / len(s) for s in shares]
    assert sum(w * m for w, m in zip(weights, local)) / 3 == pytest.approx(sum(loss) / len(loss))
    assert Group().mine(batch) == batch and Group().weight(3, 7) == 1.0
    with pytest.raises(SeqkitError, match="batch size 2 is smaller than the 3 processes"):
        Group(World(0, 3)).check_batch(2)


def test_a_device_no_process_can_use_is_refused_before_joining_the_others(monkeypatch):
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(free_port()), "SEQKIT_DIST_TIMEOUT": "3"}.items():
        monkeypatch.setenv(name, value)
    # refused before init_process_group (it used to join, then wait for rank 1 until the timeout)
    with pytest.raises(SeqkitError, match=r"^unknown device 'tpu'; use cpu, cuda or cuda:N$"):
        with join("tpu"):
            pass
    if not torch.cuda.is_available():
        with pytest.raises(SeqkitError, match=r"^device 'cuda' requested but PyTorch .* sees no CUDA GPU; use "):
            with join("cuda"):
                pass
    assert not torch.distributed.is_initialized()
