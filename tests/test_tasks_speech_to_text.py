"""The speech-to-text task: digit strings, CTC loss and metrics, user manifests, export and WAV -> text without
PyTorch."""
import csv
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.kit.audio import wav_features
from seqkit.training import TrainConfig, prepare, train

WAVS = resources.files("seqkit.datasets") / "speech" / "digit_strings_wav"


def task(plugins, **options):
    cls = plugins.task("speech-to-text")
    return cls(cls.config_from_dict(options))


def test_digit_strings_hold_out_two_voices(plugins):
    t = task(plugins)
    tr, te = t.load_data("digit-strings", "train"), t.load_data("digit-strings", "test")
    assert (len(tr), len(te)) == (432, 144)
    words = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
    assert all(2 <= len(s.text.split()) <= 5 and set(s.text.split()) <= words for s in tr + te)
    assert {s.x.shape[1] for s in tr} == {20} and all(len(s.x) >= 2 * len(s.text.split()) for s in te)
    t.fit(tr)
    assert "".join(t.config.alphabet) == " efghinorstuvwxz" and t.symbols() == 17
    assert t.config.baseline_text in {s.text for s in tr}
    base = t.baseline(None, te)
    assert 0.3 < base["cer"] < 1.0 and 0.5 < base["wer"] <= 1.0


def test_data_goes_through_the_shared_dataset_dispatch(plugins, tmp_path):
    t = task(plugins)
    assert type(t).dataset_splits("digit-strings") == ("train", "test")
    with pytest.raises(SeqkitError, match="dataset 'digit-strings' has splits train and test, not 'val'"):
        t.load_data("digit-strings", "val")
    with pytest.raises(SeqkitError, match=r"'words' is neither a file nor a built-in dataset of this task "
                                          r"\(digit-strings\); or give a CSV/TSV/JSONL manifest"):
        t.load_data("words")
    with pytest.raises(SeqkitError, match="is not a file; give a CSV/TSV/JSONL manifest"):
        t.load_data(str(tmp_path))


def test_shipped_wavs_are_held_out_utterances(plugins):
    """The WAVs (a held-out voice) give, through the numpy front end, frames of a test utterance (uint8 storage)."""
    test = task(plugins).load_data("digit-strings", "test")
    with resources.as_file(WAVS) as folder:
        wavs = sorted(folder.glob("*.wav"))
        assert len(wavs) == 3
        for wav in wavs:
            frames, text = wav_features(wav), wav.stem.replace("-", " ")
            match = [s for s in test if s.text == text and s.x.shape == frames.shape]
            assert any(np.abs(s.x - frames).max() <= 0.051 for s in match), text


def test_ctc_loss_and_perfect_metrics(plugins):
    t = task(plugins)
    data = t.load_data("digit-strings", "train")[:4]
    t.fit(data)
    (x, lengths), target = t.collate(data)
    targets, target_lengths, input_lengths = target
    assert torch.equal(input_lengths, lengths) and target_lengths.tolist() == [len(s.text) for s in data]
    assert t.texts(targets, target_lengths) == [s.text for s in data]
    # log-probabilities whose best path spells each transcription (a blank after every character)
    perfect = torch.full((len(data), x.shape[1], t.symbols()), -20.0)
    for b, s in enumerate(data):
        for k, i in enumerate(targets[b, :len(s.text)].tolist()):
            perfect[b, 2 * k, i] = 0.0
        perfect[b, 2 * len(s.text):, 0] = 0.0
        perfect[b, 1:2 * len(s.text):2, 0] = 0.0
    perfect = torch.log_softmax(perfect, -1)
    assert t.metrics((perfect,), target) == {"cer": 0.0, "wer": 0.0}
    assert t.loss((perfect,), target).item() < 0.01
    uniform = torch.log_softmax(torch.zeros_like(perfect), -1)
    assert t.loss((uniform,), target).item() > 1.0 and t.metrics((uniform,), target)["cer"] == 1.0


def test_user_manifest_and_npz(plugins, tmp_path):
    with resources.as_file(WAVS) as folder:
        wavs = sorted(folder.glob("*.wav"))
        rows = [(str(w), w.stem.replace("-", " ").upper()) for w in wavs]
    with open(tmp_path / "m.csv", "w", newline="") as f:
        csv.writer(f).writerows([("audio", "text"), *rows])
    items = task(plugins).load_data(str(tmp_path / "m.csv"))
    assert [s.text for s in items] == [r[1].lower() for r in rows] and items[0].x.shape[1] == 20
    with open(tmp_path / "bad.csv", "w") as f:
        f.write("audio,text\nmissing.wav,one\n")
    with pytest.raises(SeqkitError, match=r"bad.csv line 2: audio file .*missing.wav does not exist"):
        task(plugins).load_data(str(tmp_path / "bad.csv"))
    np.savez(tmp_path / "u.npz", frames=np.zeros((9, 20), np.float32), lengths=np.array([4, 4]),
             texts=np.array(["one", "two"]))
    with pytest.raises(SeqkitError, match=r"u.npz: expected frames .* \(sum 8\)"):
        task(plugins).load_data(str(tmp_path / "u.npz"))
    t = task(plugins)
    t.fit(items)
    with pytest.raises(SeqkitError, match=r"row 9: characters 'qu' are not in the model's alphabet"):
        t.collate([type(items[0])(items[0].x, "quiet", "row 9")])


@pytest.mark.slow
def test_train_export_and_transcribe_a_wav_without_torch(plugins, tmp_path):
    prepared = prepare("gru", "speech-to-text", "digit-strings", CellConfig(hidden_size=16), seed=0,
                       plugins=plugins)
    result = train(prepared.composition, prepared.train_data[:64], prepared.val_data[:16],
                   TrainConfig(epochs=2, batch_size=16, lr=3e-3, progress=False), run_dir=tmp_path / "run")
    assert {"train_cer", "val_cer", "val_wer"} <= set(result.history[-1])
    export = seqkit.export(result.composition, tmp_path / "stt.onnx")
    assert export.report.ok
    # the PyTorch model's greedy transcription of a shipped WAV ...
    with resources.as_file(WAVS) as folder:
        wav = sorted(folder.glob("*.wav"))[0]
        frames = wav_features(wav)
    from seqkit.runtime.ctc import greedy_decode
    with torch.no_grad():
        (log_probs,) = result.composition.model(torch.from_numpy(frames[None]), torch.tensor([len(frames)]))
    alphabet = result.composition.task.config.alphabet
    want = greedy_decode(log_probs.numpy(), [len(frames)], alphabet)[0]
    # ... equals what onnxruntime + the numpy front end + the numpy decoder read, with torch refused
    code = f"""
import sys, json
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
import onnxruntime as ort
from seqkit.kit.audio import wav_features
from seqkit.runtime.ctc import greedy_decode
sess = ort.InferenceSession({str(tmp_path / 'stt.onnx')!r}, providers=["CPUExecutionProvider"])
meta = json.loads(sess.get_modelmeta().custom_metadata_map["seqkit.task_metadata"])
frames = wav_features({str(wav)!r})
(log_probs,) = sess.run(None, {{"frames": frames[None], "lengths": [len(frames)]}})
print(json.dumps(greedy_decode(log_probs, [len(frames)], meta["alphabet"])[0]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == want


def test_predict_turns_a_wav_into_text_without_torch_code_paths(tmp_path):
    """seqkit predict (and seqkit.runtime) decode a speech-to-text file's log-probabilities greedily into text,
    the same text as greedy_decode over a direct onnxruntime run on the same frames."""
    import onnxruntime as ort
    from click.testing import CliRunner

    from seqkit.cli import cli
    from seqkit.runtime import load
    from seqkit.runtime.audio import wav_features
    from seqkit.runtime.ctc import greedy_decode

    c = seqkit.compose("gru", "speech-to-text", seqkit.CellConfig(hidden_size=8), seed=1)
    seqkit.export(c, tmp_path / "stt.onnx", verify=False)
    wav = resources.files("seqkit.datasets") / "speech" / "digit_strings_wav" / "six-eight.wav"
    [result] = load(tmp_path / "stt.onnx").predict([str(wav)])
    sess = ort.InferenceSession(str(tmp_path / "stt.onnx"), providers=["CPUExecutionProvider"])
    meta = json.loads(sess.get_modelmeta().custom_metadata_map["seqkit.task_metadata"])
    frames = wav_features(wav)
    (log_probs,) = sess.run(None, {"frames": frames[None].astype(np.float32), "lengths": np.array([len(frames)])})
    assert result == {"text": greedy_decode(log_probs, [len(frames)], meta["alphabet"])[0]}
    out = CliRunner().invoke(cli, ["predict", str(tmp_path / "stt.onnx"), str(wav)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.strip().splitlines()[-1])["text"] == result["text"]
