"""seqkit.runtime: metadata, raw samples -> results equal to PyTorch's, strict input checks, streams."""
import numpy as np
import pytest
from deploy_cases import CASES, assert_same, samples, torch_outputs

from seqkit.errors import InputError, SeqkitError
from seqkit.runtime import check_feeds, load
from seqkit.runtime.results import softmax


def assert_result_matches(case, result, want, length):
    """A runtime result against the PyTorch model's outputs for the same sample (alone, batch 1)."""
    if case in ("classification-text", "classification-features", "speech-frames", "video-frames"):
        probs = softmax(want[0])
        np.testing.assert_allclose(list(result["probabilities"].values()), probs, atol=1e-5)
        assert result["label"] == list(result["probabilities"])[int(probs.argmax())]
        assert result["probability"] == pytest.approx(probs.max(), abs=1e-6)
    elif case == "forecasting":
        np.testing.assert_allclose(np.array(list(result["forecast"].values())).T, want[0], rtol=1e-4, atol=1e-4)
        assert list(result["forecast"]) == ["load", "temp"]
    elif case == "adding":
        assert result["prediction"] == pytest.approx(float(want[0][0]), abs=1e-5)
    elif case == "tagging":
        p = softmax(want[0][:length])
        assert result["tags"] == ["BEIO"[i] for i in p.argmax(-1)]
        np.testing.assert_allclose(result["tag_probabilities"], p.max(-1), atol=1e-5)
    else:  # pragma: no cover
        raise AssertionError(case)


@pytest.mark.parametrize("case", list(CASES))
def test_predict_from_raw_samples_equals_pytorch(deployed, case):
    path, composition, _ = deployed(case)
    model = load(path)
    assert (model.task, model.cell) == (CASES[case][1], CASES[case][0])
    raw = samples(case)
    results = model.predict(raw, batch_size=2)  # several batches, padded, sorted by length inside
    assert len(results) == len(raw)
    for sample, result in zip(raw, results):
        length = len(sample) if not isinstance(sample, str) else None
        assert_result_matches(case, result, torch_outputs(composition, sample), length)
    assert_same(model.predict(raw[::-1], batch_size=64)[::-1], results)  # batching never changes a result


def test_metadata_is_read_from_the_file(deployed):
    model = load(deployed("speech-frames").path)
    assert [s.name for s in model.inputs] == ["frames", "lengths"] and model.inputs[0].shape == ("batch", "time", 20)
    assert model.labels[:2] == ["eight", "five"] and model.streaming is None
    assert model.encoder.front_end.fmax == 8000 and model.encoder.front_end.n_mels == 20
    assert "WAV" in model.describe_sample()
    text = load(deployed("classification-text").path)
    assert text.encoder.tokenizer.takes_text and text.encoder.tokenizer.tokens("The cat.") == ["the", "cat", "."]


def test_text_is_tokenized_like_the_task(deployed):
    path, composition, _ = deployed("classification-text")
    model = load(path)
    for text in ["The cat sat.", "A DOG ran, far!", "über cat"]:
        assert model.encode(text)["tokens"].tolist() == composition.task.encode_text(text)


# -- strict checks before anything runs ------------------------------------------------------------------
def feeds_for(case, time=5, batch=2):
    rng = np.random.default_rng(0)
    if case == "classification-text":
        return {"tokens": rng.integers(0, 11, (batch, time)), "lengths": np.full(batch, time)}
    return {"features": rng.standard_normal((batch, time, 3)).astype(np.float32), "lengths": np.full(batch, time)}


@pytest.mark.parametrize("case,change,message", [
    ("classification-text", {"lengths": np.array([5, 0])}, "input 'lengths' sample 1: length 0 is outside 1..5"),
    ("classification-text", {"lengths": np.array([-3, 5])}, "input 'lengths' sample 0: length -3 is outside 1..5"),
    ("classification-text", {"lengths": np.array([5, 6])}, "input 'lengths' sample 1: length 6 is outside 1..5"),
    ("classification-text", {"tokens": np.array([[1, 2, -1, 0, 0], [1, 1, 1, 1, 1]])},
     "input 'tokens' sample 0 step 2: token id -1 is outside 0..10"),
    ("classification-text", {"tokens": np.array([[1, 2, 3, 4, 5], [1, 1, 1, 1, 11]]), "lengths": np.array([5, 2])},
     "input 'tokens' sample 1 step 4: token id 11 is outside 0..10 (the model's 11 ids); padding steps too"),
    ("classification-text", {"tokens": np.zeros((2, 0), np.int64)}, "axis 1 ('time') is empty"),
    ("classification-text", {"tokens": np.ones((2, 5), np.float32)}, "dtype float32, the model takes int64"),
    ("classification-text", {"tokens": np.ones((2, 5), np.uint8)}, "dtype uint8, the model takes int64"),
    ("classification-text", {"lengths": np.array([5.0, 5.0])}, "lengths must be integers"),
    ("classification-text", {"lengths": np.array([5, 5, 5])}, "axis 0 ('batch') has size 3 but input 'tokens' has 2"),
    ("classification-text", {"tokens": np.ones((2, 5, 1), np.int64)}, "3 dimension(s) [2, 5, 1], the model takes 2"),
    ("classification-features", {"features": np.ones((2, 5, 4), np.float32)}, "axis 2 has size 4, the model takes 3"),
    ("classification-features", {"features": np.ones((2, 5, 3), np.float16)}, "dtype float16, the model takes float32"),
    ("classification-features", {"features": np.ones((2, 5, 3), np.int64)}, "dtype int64, the model takes float32"),
    ("classification-features", {"features": np.full((2, 5, 3), 1e39)}, "sample 0: value inf at index [0, 0] does "
                                                                          "not fit float32"),
    ("classification-features", {"features": np.where(np.arange(30).reshape(2, 5, 3) == 17, np.nan, 1.0)},
     "input 'features' sample 1: value nan at index [0, 2] is not finite"),
    ("classification-features", {"bogus": np.ones(2)}, "input 'bogus' is not an input of this model"),
])
def test_bad_feeds_are_refused_naming_input_and_sample(deployed, case, change, message):
    model = load(deployed(case).path)
    feeds = {**feeds_for(case), **change}
    with pytest.raises(InputError) as info:
        model.run(feeds)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_input_and_lossless_conversions(deployed):
    model = load(deployed("classification-features").path)
    feeds = feeds_for("classification-features")
    with pytest.raises(InputError, match="input 'lengths' is missing"):
        model.run({"features": feeds["features"]})
    plain = model.run(feeds)["logits"]
    converted = model.run({"features": feeds["features"].astype(np.float64), "lengths": feeds["lengths"].astype(
        np.int32)})["logits"]
    np.testing.assert_array_equal(plain, converted)


@pytest.mark.slow
def test_the_issues_silent_failures_are_now_errors(deployed, tmp_path):
    """Each case of the issue: length 0 (NaN or bias-only logits), id -1 (last row), id >= vocab in padding,
    a Scan model with a length longer than the sequence or negative, time 0."""
    import seqkit

    for pooling in ("mean", "max", "last"):
        c = seqkit.compose("gru", "classification", seqkit.CellConfig(hidden_size=4), {"pooling": pooling})
        seqkit.export(c, tmp_path / f"{pooling}.onnx", verify=False)
        model = load(tmp_path / f"{pooling}.onnx")
        with pytest.raises(InputError, match="length 0 is outside"):
            model.run({"tokens": np.ones((1, 3), np.int64), "lengths": np.array([0])})
    scan = load(deployed("tagging").path)  # indrnn: an ONNX Scan
    for n, message in ((9, "length 9 is outside 1..4"), (-1, "length -1 is outside 1..4")):
        with pytest.raises(InputError, match=message):
            scan.run({"tokens": np.ones((1, 4), np.int64), "lengths": np.array([n])})
    with pytest.raises(InputError, match="token id -1"):
        scan.run({"tokens": np.array([[2, -1]]), "lengths": np.array([2])})
    with pytest.raises(InputError, match="'time'\\) is empty"):
        scan.run({"tokens": np.ones((1, 0), np.int64), "lengths": np.array([1])})


@pytest.mark.parametrize("case,sample,message", [
    ("classification-text", "", "sample 0: text '' has no tokens"),
    ("classification-text", [], "sample 0: input 'tokens' has no steps (time 0)"),
    ("classification-text", [3, 99], "sample 0: input 'tokens' step 1: token id 99 is outside 0..10"),
    ("classification-text", [1.0, 2.0], "holds float values"),
    ("classification-text", {"x": 1}, "sample 0: a dict; the model takes a text or"),
    ("classification-features", np.ones((4, 2)), "axis 1 must be 3"),
    ("classification-features", np.ones(4), "one sample is [time, 3]"),
    ("classification-features", [[1, 2, float("nan")]], "value nan at index [0, 2] is not finite"),
    ("classification-features", "clip.wav", "this model has no audio front end"),
    ("speech-frames", "missing.wav", "missing.wav does not exist"),
    ("tagging", "a b c", "records no tokenizer and vocabulary"),
])
def test_bad_raw_samples_are_refused_before_anything_runs(deployed, case, sample, message):
    model = load(deployed(case).path)
    with pytest.raises(InputError) as info:
        model.predict([sample])
    assert message in str(info.value)
    with pytest.raises(InputError, match="^texts.csv line 9: "):
        model.predict([sample], sources=["texts.csv line 9"])


def test_a_bad_sample_among_good_ones_is_named(deployed):
    model = load(deployed("classification-features").path)
    good = samples("classification-features")
    with pytest.raises(InputError, match="^sample 3: "):
        model.predict(good[:3] + [np.ones((2, 5))] + good, batch_size=2)


def test_model_without_lengths_batches_equal_lengths_only(deployed):
    model = load(deployed("forecasting").path)
    raw = samples("forecasting")  # lengths 6, 6, 4, 6, 9: no lengths input, so three groups
    calls = []
    model.predict(raw, batch_size=8, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 5), (4, 5), (5, 5)]


def test_load_refuses_what_it_cannot_serve(tmp_path, deployed):
    with pytest.raises(SeqkitError, match="does not exist"):
        load(tmp_path / "nope.onnx")
    (tmp_path / "bad.onnx").write_text("not a model")
    with pytest.raises(SeqkitError, match="could not load the model"):
        load(tmp_path / "bad.onnx")
    import onnx

    proto = onnx.load(deployed("adding").path)
    del proto.metadata_props[:]
    onnx.save(proto, tmp_path / "plain.onnx")
    with pytest.raises(SeqkitError, match="has no seqkit metadata"):
        load(tmp_path / "plain.onnx")
    with pytest.raises(SeqkitError, match="exported without --streaming"):
        load(deployed("adding").path).stream()


def test_check_feeds_is_usable_alone():
    from seqkit.runtime import Spec

    specs = [Spec("x", ("batch", "time", 2)), Spec("lengths", ("batch",), "int64", kind="lengths")]
    out = check_feeds(specs, {"x": np.zeros((1, 3, 2)), "lengths": np.array([3], np.int32)}, samples=["clip.npz"])
    assert out["x"].dtype == np.float32 and out["lengths"].dtype == np.int64
    with pytest.raises(InputError, match="^input 'lengths' clip.npz: length 4"):
        check_feeds(specs, {"x": np.zeros((1, 3, 2)), "lengths": np.array([4])}, samples=["clip.npz"])


# -- streams -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["classification-text", "forecasting", "tagging", "speech-frames"])
def test_stream_in_chunks_equals_one_call(deployed, case):
    path = deployed(case, streaming=True).path
    model = load(path)
    assert model.streaming and [d["input"] for d in model.streaming["state"]][0] == "state_in_h"
    rng = np.random.default_rng(1)
    if case == "classification-text":
        whole = [2, 3, 4, 5, 6, 7, 8, 9, 10, 2, 3]
    elif case == "tagging":
        whole = ["(", "a", "b", ")", "c", "c", "(", "a"]
    elif case == "forecasting":
        whole = 100 + 20 * rng.standard_normal((17, 2))
    else:
        whole = rng.standard_normal((23, 20)) - 5
    one = model.predict([whole])[0]
    stream = model.stream()
    cuts = [0, 1, 4, 5, len(whole)]
    results = [stream.push(whole[a:b]) for a, b in zip(cuts, cuts[1:])]
    if case == "tagging":
        assert sum((r["tags"] for r in results), []) == one["tags"]
    else:
        assert_same(results[-1], one)
        assert_same(results[2], model.predict([whole[:5]])[0])  # the running result after 5 steps
    assert int(stream.steps[0]) == len(whole)
    stream.reset()
    assert all(not v.any() for v in stream.state.values())
    assert_same(stream.push(whole), one)


def test_stream_of_several_sequences_and_its_errors(deployed):
    model = load(deployed("classification-text", streaming=True).path)
    stream = model.stream(batch=2)
    first = stream.push([[2, 3, 4], "dog"])           # chunks of different lengths, one per sequence
    second = stream.push([[5], "ran far"])
    assert_same(first, model.predict([[2, 3, 4], "dog"]))
    assert_same(second, model.predict([[2, 3, 4, 5], "dog ran far"]))
    assert stream.steps.tolist() == [4, 3]
    with pytest.raises(InputError, match="push a list of 2 chunks"):
        stream.push(["one"])
    with pytest.raises(InputError, match="is the stream's own state"):
        stream.run({"tokens": np.ones((2, 1), np.int64), "lengths": np.ones(2, np.int64),
                    "state_in_h": np.zeros((2, 2, 8), np.float32)})
    with pytest.raises(InputError, match="chunk of sequence 1 \\(after 3 steps\\): input 'tokens' step 0"):
        stream.push([[2], [77]])


def test_cuda_is_asked_for_never_faked(deployed):
    import onnxruntime

    from seqkit.errors import ProviderError

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA; scripts/check_runtime_cuda.py covers it")  # pragma: no cover
    with pytest.raises(ProviderError, match="has no CUDAExecutionProvider"):
        load(deployed("adding").path, provider="cuda")


def test_a_non_finite_output_is_an_error_not_a_result(deployed, monkeypatch):
    model = load(deployed("adding").path)
    real = model.session.session

    class Overflowing:  # what a relu cell fed extreme (but finite float32) values can compute
        def run(self, names, feeds):
            out = real.run(names, feeds)
            out[0][1, 0] = np.inf
            return out

    monkeypatch.setattr(model.session, "session", Overflowing())
    with pytest.raises(SeqkitError, match="output 'prediction' sample 1: the model computed a non-finite value"):
        model.predict([np.ones((3, 2)), np.ones((3, 2))])
