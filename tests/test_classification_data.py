"""Classification data: built-in datasets, user files, what fit() learns, and one-line errors naming file and row."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqkit.cli import cli
from seqkit.errors import SeqkitError
from seqkit.training.data import split_indices


@pytest.fixture
def task(plugins):
    return plugins.task("classification")()


def test_builtin_datasets_have_their_documented_shapes(task):
    assert set(task.datasets()) == {"basic-motions", "fortunes"}
    motions = task.load_data("basic-motions", "test")
    assert len(motions) == 40 and motions[0].x.shape == (100, 6) and motions[0].x.dtype == np.float32
    assert {s.label for s in motions} == {"Badminton", "Running", "Standing", "Walking"}
    quotes, test = task.load_data("fortunes"), task.load_data("fortunes", "test")
    assert (len(quotes), len(test)) == (1486, 638) and not {s.x for s in quotes} & {s.x for s in test}
    with pytest.raises(SeqkitError, match=r"'motions' is neither a file nor a built-in dataset of this task "
                                          r"\(basic-motions, fortunes\); or give a CSV"):
        task.load_data("motions")
    with pytest.raises(SeqkitError, match="splits train and test"):
        task.load_data("fortunes", "val")


def test_fit_learns_vocabulary_labels_and_counts_from_text(task, tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"t": "Good movie!", "y": "pos"}, {"t": "good, GOOD plot", "y": "pos"}, {"t": "bad movie", "y": "neg"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    task.config.text_column, task.config.label_column = "t", "y"
    data = task.load_data(str(path))
    task.fit(data)
    c = task.config
    assert c.labels == ["neg", "pos"] and c.num_classes == 2 and c.class_counts == [1, 2]
    assert c.vocab == ["good", "movie"] and c.vocab_size == 4  # min_count 2: "bad", "plot", "!" are unknown
    (tokens, lengths), target = task.collate(data)
    assert tokens.tolist() == [[2, 3, 1, 0], [2, 1, 2, 1], [1, 3, 0, 0]]  # 0 padding, 1 unknown
    assert lengths.tolist() == [3, 4, 2] and target.tolist() == [1, 1, 0]
    assert task.baseline(None, data) == {"accuracy": pytest.approx(2 / 3)}


def test_npz_features_with_lengths_are_normalised_inside_the_model(task, tmp_path):
    x = np.random.default_rng(0).normal(5.0, 2.0, size=(6, 9, 3)).astype(np.float32)
    x[0, 4:] = np.nan  # padding beyond lengths may hold anything
    np.savez(tmp_path / "d.npz", X=x, y=np.array([0, 1, 2, 0, 1, 2]), lengths=np.array([4, 9, 9, 2, 9, 9]))
    data = task.load_data(str(tmp_path / "d.npz"))
    assert [len(s.x) for s in data] == [4, 9, 9, 2, 9, 9]
    task.fit(data)
    assert task.config.num_features == 3 and task.config.labels == ["0", "1", "2"]
    encoder = task.build_encoder()
    (features, lengths), _ = task.collate(data)
    normalised, _ = encoder(features, lengths)
    valid = torch.cat([normalised[i, :n] for i, n in enumerate(lengths.tolist())])
    assert torch.allclose(valid.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(valid.std(0, unbiased=False), torch.ones(3), atol=1e-4)


def test_stratified_split_is_seeded_and_keeps_every_class_on_both_sides():
    groups = ["a"] * 9 + ["b"] * 3 + ["c"] * 2
    train, held = split_indices(len(groups), 0.2, seed=1, groups=groups)
    assert split_indices(len(groups), 0.2, seed=1, groups=groups) == (train, held)
    assert sorted(train + held) == list(range(14))
    assert {groups[i] for i in held} == {"a", "b", "c"} == {groups[i] for i in train}
    assert split_indices(len(groups), 0.2, seed=2, groups=groups) != (train, held)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD = [
    ("d.csv", "", "d.csv is empty"),
    ("d.csv", "text,category\nhello,a\n", "d.csv: no column 'label' in the header (columns: text, category)"),
    ("d.csv", "text,label\nhello,a\nworld,\n", "d.csv line 3: column 'label' is missing or empty"),
    ("d.csv", "text,label\n", "d.csv has no data rows"),
    ("d.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": \n', "d.jsonl line 2: not valid JSON"),
    ("d.jsonl", '{"text": "a", "label": "x"}\n[1, 2]\n', "d.jsonl line 2: expected a JSON object"),
    ("d.txt", "hello\n", "d.txt: unsupported file type .txt"),
]


@pytest.mark.parametrize("name,text,message", BAD)
def test_bad_tables_name_the_file_and_line(task, tmp_path, name, text, message):
    with pytest.raises(SeqkitError) as info:
        task.load_data(write(tmp_path, name, text))
    assert message in str(info.value) and "\n" not in str(info.value)


def npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    return str(tmp_path / "d.npz")


def test_bad_arrays_name_the_file_and_item(task, tmp_path):
    x = np.zeros((4, 5, 2), dtype=np.float32)
    y = np.array(["a", "b", "a", "b"])
    nan = x.copy()
    nan[2, 3, 1] = np.nan
    cases = [
        (dict(X=nan, y=y), "d.npz: X item 2 step 3 (index [1]) is nan"),
        (dict(X=x[:, :, 0], y=y), "X must be numeric [items, time, features], got float32 [4, 5]"),
        (dict(X=x, y=y[:3]), "y must be [items] with one label per item of X (4), got [3]"),
        (dict(X=x), "d.npz: no array 'y'"),
        (dict(X=x, y=y, lengths=np.array([5, 5, 0, 5])), "lengths item 2 is 0, outside 1..5"),
    ]
    for arrays, message in cases:
        with pytest.raises(SeqkitError) as info:
            task.load_data(npz(tmp_path, **arrays))
        assert message in str(info.value), str(info.value)


def test_unknown_label_at_evaluation_or_blank_text_names_the_row(task, tmp_path):
    task.fit(task.load_data(write(tmp_path, "train.csv", "text,label\nhot soup,food\ncold code,computers\n")))
    with pytest.raises(SeqkitError, match=r"test.csv line 3: label 'sports' was not in the training data"):
        task.collate(task.load_data(write(tmp_path, "test.csv", "text,label\nsoup,food\nball,sports\n")))
    with pytest.raises(SeqkitError, match=r"blank.csv line 3: column 'text' is missing or empty"):
        task.load_data(write(tmp_path, "blank.csv", 'text,label\nsoup,food\n"   ",food\n'))


def test_cli_bad_data_is_one_line_naming_the_file_and_row(tmp_path):
    path = write(tmp_path, "reviews.csv", "review,label\ngreat,pos\n,neg\n")
    result = CliRunner().invoke(cli, ["train", "--data", path, "-T", "text_column=review", "--epochs", "1"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"Error: {path} line 3: column 'review' is missing or empty; fill it or drop the row"]
