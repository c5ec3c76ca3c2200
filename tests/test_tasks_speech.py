"""The speech-frames task: numpy log-mel front end, built-in data, user WAV folders and .npz, export, training."""
import wave
from importlib import resources

import numpy as np
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.kit.audio import FrontEnd, log_mel, mel_filterbank, read_wav
from seqkit.training import TrainConfig, evaluate, prepare, train

WAVS = resources.files("seqkit.datasets") / "speech" / "digits_wav"


def task(plugins, **options):
    cls = plugins.task("speech-frames")
    return cls(cls.config_from_dict(options))


def write_wav(path, samples, rate=16000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_log_mel_of_a_tone_peaks_in_its_band():
    fe = FrontEnd()
    t = np.arange(8000) / 16000
    feats = log_mel(0.5 * np.sin(2 * np.pi * 1000 * t), fe)
    assert feats.shape == (1 + (8000 - 400) // 160, 20)  # 25 ms window every 10 ms
    centre = mel_filterbank(fe)[:, np.argmin(abs(np.linspace(0, 8000, 257) - 1000))]
    assert feats.mean(0).argmax() == centre.argmax()


def test_builtin_datasets(plugins):
    t = task(plugins)
    jv_train, jv_test = t.load_data("japanese-vowels", "train"), t.load_data("japanese-vowels", "test")
    assert (len(jv_train), len(jv_test)) == (270, 370)
    assert {s.x.shape[1] for s in jv_train} == {12} and 7 <= min(len(s.x) for s in jv_test) <= max(
        len(s.x) for s in jv_test) <= 29
    digits = t.load_data("spoken-digits", "train")
    assert len(digits) == 240 and len({s.label for s in digits}) == 10 and digits[0].x.shape[1] == 20
    t.fit(digits)
    assert t.config.num_coeffs == 20 and "log-mel" in t.metadata()["features"]
    with pytest.raises(SeqkitError, match="splits train and test"):
        t.load_data("spoken-digits", "validation")


def test_wav_folder_matches_shipped_features(plugins):
    """The shipped WAVs, read through the front end, give the rows the fixture script stored."""
    with resources.as_file(WAVS) as folder:
        items = task(plugins).load_data(str(folder), "train")
    assert sorted(s.label for s in items) == sorted(["zero", "one", "two", "three", "four", "five", "six", "seven",
                                                     "eight", "nine"])
    shipped = {s.label: s.x for s in task(plugins).load_data("spoken-digits", "train")[:10]}
    for s in items:
        np.testing.assert_allclose(s.x, shipped[s.label], atol=0.02)


def test_bad_user_data_names_file_and_item(plugins, tmp_path):
    (tmp_path / "yes").mkdir()
    write_wav(tmp_path / "yes" / "a.wav", np.zeros(4000), rate=8000)
    with pytest.raises(SeqkitError, match=r"a.wav: sample rate 8000 Hz.*sox"):
        task(plugins).load_data(str(tmp_path), "train")
    (tmp_path / "yes" / "a.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(SeqkitError, match="a.wav: not a readable PCM WAV"):
        read_wav(tmp_path / "yes" / "a.wav", 16000)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SeqkitError, match="no WAV files found"):
        task(plugins).load_data(str(empty), "train")
    frames = np.random.default_rng(0).standard_normal((4, 9, 5)).astype(np.float32)
    frames[2, 3, 1] = np.nan
    np.savez(tmp_path / "f.npz", frames=frames, labels=np.array(["a", "b", "a", "b"]), lengths=np.array([9, 5, 4, 9]))
    with pytest.raises(SeqkitError, match=r"f.npz: frames item 2 step 3"):
        task(plugins).load_data(str(tmp_path / "f.npz"), "train")
    np.savez(tmp_path / "g.npz", frames=frames, labels=np.array(["a", "b", "a", "b"]), lengths=np.array([9, 0, 4, 9]))
    with pytest.raises(SeqkitError, match=r"g.npz: lengths item 1 is 0"):
        task(plugins).load_data(str(tmp_path / "g.npz"), "train")
    frames[2, 3, 1] = 0.0
    np.savez(tmp_path / "h.npz", frames=frames, labels=np.array(["a", "b", "a", "b"]), lengths=np.array([9, 5, 4, 9]))
    t = task(plugins)
    t.fit(t.load_data(str(tmp_path / "h.npz"), "train"))
    assert t.config.num_coeffs == 5 and t.config.labels == ["a", "b"]
    np.savez(tmp_path / "i.npz", frames=frames, labels=np.array(["a", "b", "c", "b"]))
    with pytest.raises(SeqkitError, match=r"i.npz item 2: label 'c' was not in the training data"):
        t.collate(t.load_data(str(tmp_path / "i.npz"), "test"))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fitted_model_exports_and_verifies(plugins, tmp_path, cell):
    prepared = prepare(cell, "speech-frames", "japanese-vowels", CellConfig(hidden_size=8), plugins=plugins)
    c = prepared.composition
    assert c.task.config.num_classes == 9 and len(c.task.config.mean) == 12
    result = seqkit.export(c, tmp_path / "s.onnx")
    assert result.report.ok, result.report.failures()


def test_padding_does_not_change_an_utterance(plugins):
    prepared = prepare("lstm", "speech-frames", "japanese-vowels", CellConfig(hidden_size=8), plugins=plugins)
    c = prepared.composition
    (x, lengths), _ = c.task.collate(prepared.train_data[:6])
    with torch.no_grad():
        batch = c.model(x, lengths)[0]
        alone = torch.cat([c.model(x[i:i + 1, :lengths[i]], lengths[i:i + 1])[0] for i in range(6)])
    torch.testing.assert_close(batch, alone, rtol=1e-5, atol=1e-5)


def test_training_beats_majority_on_japanese_vowels(plugins, tmp_path):
    prepared = prepare("gru", "speech-frames", "japanese-vowels", CellConfig(hidden_size=24), plugins=plugins)
    result = train(prepared.composition, prepared.train_data, prepared.val_data,
                   TrainConfig(epochs=8, lr=1e-2, progress=False), run_dir=tmp_path / "run")
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    scores = evaluate(tmp_path / "run", "japanese-vowels", plugins=plugins)
    assert scores["samples"] == 370 and scores["accuracy"] > scores["baseline"]["accuracy"] + 0.3
