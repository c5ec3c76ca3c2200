"""Built-in task ``sentiment``: the polarity (positive / negative) of a sentence, from its words.

The model is the classification task's text model (token ids embedded, the cell's outputs pooled over each
sentence's valid steps into logits; the fitted vocabulary travels in the exported file), with sentiment data
and a stronger baseline than the majority class: **multinomial naive Bayes on binarised bags of words**
(Laplace smoothing, the same tokens and vocabulary as the model; Wang & Manning 2012 found it hard to beat on
sentence-level sentiment). ``fit()`` stores the baseline's per-class document frequencies in the task config, so
``seqkit evaluate`` of a saved run reports it without the training data.

Data: the UCI "Sentiment Labelled Sentences" corpus (Kotzias et al. 2015, CC BY 4.0: 3,000 review sentences
from Amazon, IMDb and Yelp), which seqkit does not ship: the user downloads it and passes the unzipped folder
(``--data FOLDER``; splits ``train`` 2,400 and ``test`` 600, seeded, made at load time by
:mod:`seqkit.builtin.tasks.sentiment_corpus`); or a CSV/TSV/JSONL with a text and a label column, read whole, as
for ``classification``. The name ``sentiment-sentences`` says where to download the corpus.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit import hookimpl
from seqkit.builtin.tasks import sentiment_corpus as corpus
from seqkit.builtin.tasks.classification import ClassificationConfig, ClassificationTask
from seqkit.core.task import Dataset
from seqkit.errors import SeqkitError
from seqkit.kit.labels import Item


@dataclass
class SentimentConfig(ClassificationConfig):
    pooling: str = "max"           # max over words works better than the last state on short sentences
    embedding_dim: int = 32
    # learned by fit(): sentences of each class that hold each token id (naive Bayes baseline)
    nb_counts: list = field(default_factory=list)


class SentimentTask(ClassificationTask):
    """Sentence -> sentiment logits; naive Bayes bag-of-words baseline."""

    Config = SentimentConfig
    DATASETS = {
        "sentiment-sentences": Dataset("UCI Sentiment Labelled Sentences (Kotzias et al. 2015, CC BY 4.0): review "
                                       "sentences from Amazon, IMDb, Yelp, positive or negative; 2400 train / 600 "
                                       "test", download=corpus.how_to_get()),
    }
    FILES = ("the unzipped folder of the Sentiment Labelled Sentences corpus, UCI dataset 331 (splits train and "
             "test), or a CSV, TSV or JSONL file with a text and a label column (-T text_column=.. -T label_column=..)")

    @classmethod
    def file_splits(cls, path):
        """The corpus folder: ``train`` and ``test`` (the seeded split); a single file is read whole."""
        return ("train", "test") if corpus.is_corpus(Path(path)) else ()

    def load_file(self, path, split, name):
        path = Path(path)
        if path.is_dir():
            rows = corpus.split(corpus.read(path))[split]
            return [Item(text, label, f"{name} ({split}) sentence {i + 1} ({site})")
                    for i, (text, label, site) in enumerate(rows)]
        return super().load_file(path, split, name)

    def fit(self, data):
        super().fit(data)
        c = self.config
        if c.num_features:
            raise SeqkitError("the sentiment task reads text; for numeric sequences use the classification task")
        counts = np.zeros((c.num_classes, c.vocab_size), dtype=np.int64)
        index = self.label_index(data)
        for s in data:
            counts[index[s.label], sorted(set(self.encode_text(s.x)))] += 1
        c.nb_counts = counts.tolist()

    def naive_bayes(self, texts) -> np.ndarray:
        """Class index per text of the naive Bayes baseline (binarised multinomial, add-one smoothing)."""
        c = self.config
        counts = np.asarray(c.nb_counts, dtype=np.float64)
        log_prior = np.log(np.asarray(c.class_counts, dtype=np.float64) / sum(c.class_counts))
        log_like = np.log((counts + 1.0) / (counts.sum(axis=1, keepdims=True) + counts.shape[1]))
        out = []
        for text in texts:
            ids = sorted(set(self.encode_text(text)))
            out.append(int(np.argmax(log_prior + log_like[:, ids].sum(axis=1))))
        return np.array(out, dtype=np.int64)

    def baseline(self, train, test):
        """Accuracy of naive Bayes on ``test`` (fitted in ``fit``) and of the majority class."""
        if not len(test) or not self.config.nb_counts:
            return super().baseline(train, test)
        index = self.label_index(test)
        truth = np.array([index[s.label] for s in test])
        predicted = self.naive_bayes([s.x for s in test])
        return {"accuracy": float((predicted == truth).mean()),
                "majority_accuracy": super().baseline(train, test).get("accuracy", float("nan"))}

    def baselines(self, train, test):
        """The task's :meth:`baseline` under its real name, ``binarised naive Bayes`` (first: it is the run's
        ``baseline``), then the ``majority`` class and the strong baselines of classification."""
        out = super().baselines(train, test)
        ours = out.pop("majority", {})
        if "majority_accuracy" not in ours:
            return {"majority": ours, **out} if ours else out
        return {"binarised naive Bayes": ours, "majority": {"accuracy": ours["majority_accuracy"]}, **out}

    def metadata(self):
        meta = super().metadata()
        meta["baseline"] = "naive Bayes on binarised bags of words (counts in the config: nb_counts)"
        return meta


@hookimpl
def seqkit_register_tasks(registry):
    registry.register("sentiment", SentimentTask)
