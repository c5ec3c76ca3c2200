"""seqkit's JavaScript runtime (js/) against the Python runtime: tests/js_fixtures.py writes what seqkit.runtime
gives for tokenizer, encoder, checks, results and sampling cases, and a small trained translation model with
Python's greedy translations; node's own test runner checks that js/seqkit.mjs gives the same
(js/test/*.test.mjs). Node 20 is required, not optional (CI has it); the translation tests (marked slow: they
train and export a model first) also need examples/node's and examples/web's node_modules (`make node-deps
web-deps`), to decode on onnxruntime-node and on onnxruntime-web's wasm backend."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_data_path
from js_fixtures import WORD_PATTERN, write, write_translation

ROOT = Path(__file__).resolve().parents[1]


def test_fixture_pattern_is_the_classification_tokenizer():
    from seqkit.builtin.tasks.classification import TOKEN_RE

    assert TOKEN_RE.pattern == WORD_PATTERN


def node_test(tmp_path, tests: list[str], env: dict) -> str:
    node = shutil.which("node")
    assert node, "node (20 or later) is needed for js/; CI machines have it"
    proc = subprocess.run([node, "--test", *tests], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def translation_test(tmp_path, fixture: Path) -> str:
    """js/test/translate.test.mjs on a write_translation fixture: onnxruntime-node and onnxruntime-web's wasm."""
    for folder, package in (("node", "onnxruntime-node"), ("web", "onnxruntime-web")):
        assert (ROOT / "examples" / folder / "node_modules" / package).is_dir(), f"run 'make {folder}-deps'"
    out = node_test(tmp_path, [str(ROOT / "js" / "test" / "translate.test.mjs")],
                    {"SEQKIT_JS_TRANSLATION": str(fixture)})
    assert "# fail 0" in out and "# pass 4" in out, out[-2000:]
    return out


def test_node_test_runner_passes_on_python_fixtures(tmp_path):
    fixtures = write(tmp_path / "fixtures.json")
    out = node_test(tmp_path, [str(ROOT / "js" / "test" / "runtime.test.mjs")], {"SEQKIT_JS_FIXTURES": str(fixtures)})
    assert "# fail 0" in out and "# pass 7" in out, out[-2000:]
    assert sorted(p.name for p in (ROOT / "js" / "test").glob("*.test.mjs")) == ["runtime.test.mjs",
                                                                               "translate.test.mjs"]


@pytest.fixture(scope="module")
def translation(tmp_path_factory):
    """The small translation model (trained on generated pairs) and Python's decodes: translation.json's path."""
    return write_translation(tmp_path_factory.mktemp("js-translation"))


@pytest.mark.slow
def test_node_translates_as_python_does(tmp_path, translation):
    translation_test(tmp_path, translation)


@pytest.mark.slow
def test_node_translates_real_sentences_as_python_does(tmp_path):
    """The same check on Tatoeba English -> Chinese (../shared/data, never committed): a GRU trained for five
    epochs on 300 pairs of at most 6 words, decoding ten held-out sentences and ten training ones."""
    from seqkit.builtin.tasks.translation import TranslationConfig, TranslationTask

    cmn = shared_data_path("tatoeba-eng-cmn/cmn.txt")
    options = {"max_pairs": 300, "max_source_length": 6, "max_target_length": 20}
    task = TranslationTask(TranslationConfig(**options))
    held_out = task.load_data(cmn, "test").references()[0][:10]
    seen = [s for s, _ in task.load_data(cmn, "train").pairs[:10]]
    translation = write_translation(tmp_path / "tatoeba", cmn, held_out + seen, options, epochs=5)
    translation_test(tmp_path, translation)


@pytest.mark.slow
def test_node_example_translates_what_seqkit_predict_prints(translation):
    """examples/node/translate.js prints the records of `seqkit predict MODEL --text ...` (torch-free Python)."""
    model = json.loads(translation.read_text(encoding="utf-8"))["encoder"]
    texts = ["I like tea.", "They don't drink coffee!", "we want water", "Hello?"]
    args = [a for t in texts for a in ("--text", t)]
    python = subprocess.run([sys.executable, "-m", "seqkit", "predict", model, *args], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    assert python.returncode == 0, python.stderr
    node = subprocess.run([shutil.which("node"), str(ROOT / "examples" / "node" / "translate.js"), model, *texts],
                          capture_output=True, text=True, timeout=120)
    assert node.returncode == 0, node.stderr
    want = [json.loads(line) for line in python.stdout.splitlines()]
    assert [json.loads(line) for line in node.stdout.splitlines()] == want
    assert want[0]["translation"] == "我喜欢茶。"  # the generated pairs are learnt: a real translation
    wrong = subprocess.run([shutil.which("node"), str(ROOT / "examples" / "node" / "translate.js"),
                            model.replace(".onnx", ".decoder.onnx"), "x"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert wrong.stderr.startswith("error: ") and "is not the encoder file" in wrong.stderr
