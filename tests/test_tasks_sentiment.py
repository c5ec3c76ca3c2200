"""The sentiment task: the UCI corpus read where the user keeps it (../shared/data here), its seeded split, the
naive Bayes baseline, training and a saved run's baseline."""
import csv
import hashlib
import io
import json
import shutil

import numpy as np
import pytest

from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.kit.labels import Item
from seqkit.training import TrainConfig, evaluate, prepare, sources, train

CORPUS = "sentiment-labelled-sentences"
# sha256 of sentences_{train,test}.csv, the fixture seqkit shipped until issue 19 (columns text, label, source):
# the split made at load time must stay that split, row for row, so that the docs' results keep their meaning
SHIPPED = {"train": "fae55847d0a08515f6b57d9f8f4d58d884afa1d0420b72a06f5e27b34320b7c2",
           "test": "664269c107e22b302120771d0cdb0ac7ce4843adc7352315c1dd3cd369dfeb5d"}


def task(plugins, **options):
    cls = plugins.task("sentiment")
    return cls(cls.config_from_dict(options))


def as_shipped_csv(samples) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["text", "label", "source"])
    w.writerows((s.x, s.label, s.where.rsplit("(", 1)[1].rstrip(")")) for s in samples)
    return hashlib.sha256(out.getvalue().encode("utf-8")).hexdigest()


def test_the_folder_is_split_at_load_time_as_the_shipped_fixture_was(plugins, shared_data, tmp_path):
    t = task(plugins)
    folder = shared_data(CORPUS)
    tr, te = t.load_data(folder, "train"), t.load_data(folder, "test")
    assert (len(tr), len(te)) == (2400, 600)
    assert sum(s.label == "positive" for s in te) == 300 and {s.label for s in tr} == {"positive", "negative"}
    assert len({s.x for s in tr} & {s.x for s in te}) == 5  # the corpus repeats a few sentences
    assert {"train": as_shipped_csv(tr), "test": as_shipped_csv(te)} == SHIPPED
    assert not any("\x85" in s.x or "\x96" in s.x for s in tr + te)
    # the folder as unzipped (the corpus in its "sentiment labelled sentences" subfolder) reads the same
    unzipped = tmp_path / "download"
    shutil.copytree(folder, unzipped / "sentiment labelled sentences")
    assert [s.x for s in t.load_data(unzipped, "test")] == [s.x for s in te]
    with pytest.raises(SeqkitError, match="has splits train and test, not 'val'"):
        t.load_data(folder, "val")


def test_without_the_corpus_one_line_says_where_to_download_it(plugins, run, tmp_path, shared_data):
    t = task(plugins)
    with pytest.raises(SeqkitError, match="^dataset 'sentiment-sentences' is not shipped with seqkit: download it "
                                          "from the UCI Machine Learning Repository, dataset 331"):
        t.load_data("sentiment-sentences", "train")
    result = run("train", "--task", "sentiment", "--data", "sentiment-sentences", "--epochs", "1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not shipped with seqkit" in lines[0] and "dataset 331" in lines[0], result.output
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(shared_data(CORPUS) / "imdb_labelled.txt", partial)
    with pytest.raises(SeqkitError, match="lacks amazon_cells_labelled.txt, yelp_labelled.txt of the Sentiment "
                                          "Labelled Sentences corpus; download it from the UCI"):
        t.load_data(partial, "train")
    listed = json.loads(run("datasets", "--task", "sentiment", "--json").stdout)["datasets"]
    assert [(r["name"], "archive.ics.uci.edu/dataset/331" in r["download"]) for r in listed] == \
        [("sentiment-sentences", True)]
    table = run("datasets", "--task", "sentiment")
    assert table.exit_code == 0
    assert "sentiment-sentences (task sentiment) is not shipped with seqkit: download it from the UCI" in \
        " ".join(table.output.split())


def test_a_table_file_is_still_read_whole(plugins, tmp_path, shared_data):
    t = task(plugins)
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("text,label\ngreat food,positive\nawful,negative\n")
    assert [s.label for s in t.load_data(reviews, "test")] == ["positive", "negative"]
    assert type(t).file_splits(reviews) == ()
    # what 'seqkit evaluate RUN' scores without --data: the corpus folder's test split; a single file has none
    trained_on = {"kind": "file", "split": "train"}
    assert sources.test_record(type(t), {**trained_on, "source": str(shared_data(CORPUS))})["split"] == "test"
    assert sources.test_record(type(t), {**trained_on, "source": str(reviews)}) is None


def test_naive_bayes_reads_words(plugins):
    t = task(plugins, min_count=1)
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    data = [Item(f"a {w} film", "positive" if i < 3 else "negative", f"row {i}") for i, w in enumerate(words)] * 3
    t.fit(data)
    assert t.config.labels == ["negative", "positive"]
    assert np.array(t.config.nb_counts).shape == (2, t.config.vocab_size)
    assert list(t.naive_bayes(["a great film", "an awful film", "good good"])) == [1, 0, 1]
    assert t.baseline(None, [Item("so good", "positive", "x"), Item("poor", "negative", "y")])["accuracy"] == 1.0


def test_baseline_beats_majority_and_survives_a_saved_run(plugins, tmp_path, shared_data):
    folder = shared_data(CORPUS)
    prepared = prepare("gru", "sentiment", folder, CellConfig(hidden_size=8), seed=0, plugins=plugins)
    t = prepared.composition.task
    test = t.load_data(folder, "test")
    base = t.baseline(prepared.train_data, test)
    assert base["majority_accuracy"] == 0.5 and base["accuracy"] > 0.75  # naive Bayes: ~0.80
    subset = prepared.train_data[:400]
    result = train(prepared.composition, subset, prepared.val_data[:100],
                   TrainConfig(epochs=1, batch_size=32, lr=3e-3, progress=False), run_dir=tmp_path / "run")
    assert result.history[0]["train_loss"] > 0
    saved = evaluate(tmp_path / "run", folder, plugins=plugins)
    assert saved["samples"] == 600 and saved["baseline"] == pytest.approx(base)  # counts travel in config.json
    assert list(saved["baselines"]) == ["binarised naive Bayes", "majority", "naive Bayes"]
    assert saved["baselines"]["majority"] == {"accuracy": 0.5}
