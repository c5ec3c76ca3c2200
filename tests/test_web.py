"""The same seqkit files in node (onnxruntime-node) and in a real browser (headless Chromium, onnxruntime-web's
wasm backend, examples/web) through js/seqkit.mjs, compared with the Python runtime on the same inputs: labels
equal, probabilities within 1e-5, generated text identical for the same seed.

Needs what `make test` installs: node 20, examples/node and examples/web's node_modules (`make node-deps
web-deps`), selenium (the test extra), and Debian's chromium + chromium-driver (.ci/run installs them). A
machine without them fails here rather than skip. The page's screenshot is kept as web-page.png in the test's
tmp_path, or in $SEQKIT_TEST_ARTIFACTS when that is set (CI: keep that folder as the run's artifacts).
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from web_server import StaticServer

from seqkit.runtime import InputError, load
from seqkit.runtime.generate import generate

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["You will travel far and meet a stranger.", "Über alles: 42 cats, 7 dogs!", "THE END"]
SEEDS = [(0.8, 3), (1.5, 11), (0.0, 0)]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A word-level classifier (fortunes, one epoch) and a character language model (a few epochs on a tiny
    text), both GRUs, exported and verified: what the page serves."""
    import torch

    import seqkit
    from seqkit.training import TrainConfig, prepare, train

    out = tmp_path_factory.mktemp("web-models")
    torch.set_num_threads(1)
    prepared = prepare("gru", "classification", "fortunes", seqkit.CellConfig(hidden_size=16), {"pooling": "last"},
                       seed=0)
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=1, lr=3e-3, progress=False), run_dir=out / "cls-run")
    seqkit.export(trained.composition, out / "fortunes.onnx")
    seqkit.export(trained.composition, out / "fortunes-stream.onnx", streaming=True)
    rng = np.random.default_rng(0)
    words = ["hello world. ", "yellow wool. ", "low hollow. "]
    (out / "t.txt").write_text("".join(words[i] for i in rng.integers(0, 3, 300)))
    prepared = prepare("gru", "language-model", str(out / "t.txt"), seqkit.CellConfig(hidden_size=16),
                       {"window": 40, "embedding_dim": 8}, seed=0)
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=2, batch_size=16, lr=1e-2, progress=False), run_dir=out / "lm-run")
    seqkit.export(trained.composition, out / "lm.onnx")
    return out


def assert_same_labels(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g["label"] == w["label"]
        assert g["probabilities"].keys() == w["probabilities"].keys()
        for k, p in w["probabilities"].items():
            assert abs(g["probabilities"][k] - p) <= 1e-5, (k, g["probabilities"][k], p)
        assert abs(g["probability"] - w["probability"]) <= 1e-5


@pytest.mark.slow
def test_node_streams_and_generates_what_python_does(models):
    node = shutil.which("node")
    assert node, "node (20 or later) is needed for examples/node; CI machines have it"
    assert (ROOT / "examples" / "node" / "node_modules" / "onnxruntime-node").is_dir(), "run 'make node-deps'"
    for temperature, seed in SEEDS:
        proc = subprocess.run([node, str(ROOT / "examples" / "node" / "generate.js"), str(models / "lm.onnx"), "hel",
                               "60", str(temperature), str(seed)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout[:-1] == generate(models / "lm.onnx", "hel", 60, temperature, seed)
    other = subprocess.run([node, str(ROOT / "examples" / "node" / "generate.js"), str(models / "fortunes.onnx")],
                           capture_output=True, text=True, timeout=120)
    assert other.returncode == 1 and "not a streaming language model" in other.stderr
    # a --streaming classifier pushed word by word: the label so far after each word, as Stream.push gives it
    words = TEXTS[0].split()
    script = f"""
const ort = require({json.dumps(str(ROOT / 'examples/node/node_modules/onnxruntime-node'))});
(async () => {{
  const {{ load }} = await import({json.dumps((ROOT / 'js/seqkit.mjs').as_uri())});
  const stream = (await load(ort, {json.dumps(str(models / 'fortunes-stream.onnx'))})).stream();
  const out = [];
  for (const word of {json.dumps(words)}) out.push(await stream.push(word));
  try {{ await stream.push('   '); }} catch (e) {{ out.push(e.message); }}
  console.log(JSON.stringify(out));
}})();
"""
    proc = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    *got, error = json.loads(proc.stdout)
    stream = load(models / "fortunes-stream.onnx").stream()
    assert_same_labels(got, [stream.push(w) for w in words])
    with pytest.raises(InputError) as refused:
        stream.push("   ")
    assert error == str(refused.value) and "has no tokens" in error


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "the browser test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver "
        "(.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,800",
                "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.slow
def test_browser_page_classifies_and_generates_like_python(models, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert (ROOT / "examples" / "web" / "node_modules" / "onnxruntime-web").is_dir(), "run 'make web-deps'"
    temperature, seed = 0.8, 5
    artifacts = Path(os.environ.get("SEQKIT_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "web-page.png"
    driver = browser()
    try:
        with StaticServer(ROOT, models) as url:
            driver.get(f"{url}/examples/web/index.html?classifier=/models/fortunes.onnx&lm=/models/lm.onnx")
            WebDriverWait(driver, 90).until(lambda d: d.execute_script("return document.body.dataset.ready"))
            status = driver.find_element(By.ID, "classifier-status").text
            assert status.endswith("gru / classification"), status
            texts = driver.find_element(By.ID, "texts")
            texts.clear()
            texts.send_keys("\n".join(TEXTS))
            driver.find_element(By.ID, "classify").click()
            WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "classify-json").get_attribute(
                "textContent"))
            classified = json.loads(driver.find_element(By.ID, "classify-json").get_attribute("textContent"))
            for field, value in (("prompt", "hel"), ("length", "100"), ("temperature", str(temperature)),
                                 ("seed", str(seed))):
                box = driver.find_element(By.ID, field)
                box.clear()
                box.send_keys(value)
            driver.find_element(By.ID, "generate").click()
            WebDriverWait(driver, 120).until(lambda d: d.find_element(By.ID, "generate-json").get_attribute(
                "textContent"))
            generated = json.loads(driver.find_element(By.ID, "generate-json").get_attribute("textContent"))
            shown = driver.find_element(By.ID, "generated").get_attribute("textContent")
            assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert classified["texts"] == TEXTS and "error" not in classified, classified
    assert_same_labels(classified["results"], load(models / "fortunes.onnx").predict(TEXTS))
    assert "error" not in generated, generated
    want = generate(models / "lm.onnx", "hel", 100, temperature, seed)
    assert generated["text"] == want and len(want) == 103
    assert shown == want  # what the page shows, streamed character by character
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot


@pytest.mark.slow
def test_every_lowering_runs_on_onnxruntime_web_wasm(tmp_path):
    """onnxruntime-web's wasm backend (its node build: the same wasm as in a browser) runs RNN, LSTM, GRU and Scan:
    one cell per lowering here (docs/web.md has the full table), logits equal to Python's."""
    import seqkit

    cases = [("lstm", "native-masked"), ("gru", "scan"), ("rnn", "native")]
    want = {}
    for cell, lowering in cases:
        path = tmp_path / f"{cell}-{lowering}.onnx"
        seqkit.export(seqkit.compose(cell, "classification"), path, lowering=lowering, verify=False)
        model = load(path)
        feeds = model.batch([model.encode([2, 3, 4, 5]), model.encode([6, 7])])
        want[path.name] = model.run(feeds)["logits"].ravel().tolist()
    script = f"""
import * as ort from {json.dumps((ROOT / 'examples/web/node_modules/onnxruntime-web/dist/ort.node.min.mjs').as_uri())};
import {{ load }} from {json.dumps((ROOT / 'js/seqkit.mjs').as_uri())};
ort.env.wasm.numThreads = 1;
const out = {{}};
for (const name of {json.dumps(sorted(want))}) {{
  const options = {{ sessionOptions: {{ executionProviders: ['wasm'] }} }};
  const m = await load(ort, {json.dumps(str(tmp_path))} + '/' + name, options);
  const r = await m.run(m.batch([m.encode([2, 3, 4, 5]), m.encode([6, 7])]));
  out[name] = Array.from(r.logits.data);
}}
console.log(JSON.stringify(out));
"""
    (tmp_path / "run.mjs").write_text(script)
    proc = subprocess.run([shutil.which("node") or "node", str(tmp_path / "run.mjs")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    assert sorted(got) == sorted(want)
    for name, logits in want.items():
        np.testing.assert_allclose(got[name], logits, atol=1e-5, rtol=1e-5, err_msg=name)
