"""One seqkit file, three runtimes: Python onnxruntime (seqkit.runtime), onnxruntime-node and onnxruntime-web's
wasm backend in headless Chromium, all through the same calls (js/seqkit.mjs on the JavaScript side), one thread
each.

    flock /tmp/seqkit-bench.lock python benchmarks/bench_web.py [--repeats 30] [--hidden 64]

Trains (briefly) a word-level GRU classifier on 'fortunes' and a GRU character language model, exports both, then
times one classification of a 50-token text and the generation of 100 characters (prompt fed once, then one
call per character with the state carried). Prints a table of medians (ms), the ratio to Python, and `uptime`'s
load average; also checks that all three generate the same text. Needs what `make test` installs (node,
examples/node and examples/web's node_modules, selenium, Debian's chromium + chromium-driver).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
TEXT = ("You will travel far and meet a stranger , who will tell you that the government is a tax on patience ; "
        "love is patient , love is kind , and computers will never understand why the cat sat on the warm mat at "
        "night , and so on .")
PROMPT = "The "


def make_models(out: Path, hidden: int) -> tuple[Path, Path]:
    import torch

    import seqkit
    from seqkit.training import TrainConfig, prepare, train

    torch.set_num_threads(1)
    prepared = prepare("gru", "classification", "fortunes", seqkit.CellConfig(hidden_size=hidden),
                       {"pooling": "last"}, seed=0)
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=1, lr=3e-3, progress=False), run_dir=out / "cls-run")
    seqkit.export(trained.composition, out / "classifier.onnx")
    prepared = prepare("gru", "language-model", "fortunes", seqkit.CellConfig(hidden_size=hidden),
                       {"window": 64}, seed=0)
    trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                    TrainConfig(epochs=1, batch_size=64, lr=3e-3, progress=False), run_dir=out / "lm")
    seqkit.export(trained.composition, out / "lm.onnx")
    return out / "classifier.onnx", out / "lm.onnx"


def python_times(classifier: Path, lm: Path, chars: int, seed: int, repeats: int) -> dict:
    from seqkit.runtime.generate import CharStream
    from seqkit.runtime.model import Model, read_metadata
    from seqkit.runtime.rng import Mulberry32, sample
    from seqkit.runtime.session import open_session

    session = open_session(classifier.read_bytes(), "cpu", threads=1)
    model = Model(str(classifier), session, read_metadata(session.session))
    times = []
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        model.predict([TEXT])
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e3)
    stream = CharStream(lm)
    stream.session = open_session(str(lm), "cpu", threads=1)
    gen, text = [], ""
    for i in range(max(3, -(-repeats // 6)) + 1):
        t0 = time.perf_counter()
        stream.reset()
        rng = Mulberry32(seed)
        logits, out = stream.feed(PROMPT), []
        for _ in range(chars):
            ch = stream.vocab[sample(logits, 0.8, rng, banned=stream.unknown) - 1]
            out.append(ch)
            logits = stream.feed(ch)
        text = PROMPT + "".join(out)
        if i >= 1:
            gen.append((time.perf_counter() - t0) * 1e3)
    return {"classify_ms": statistics.median(times), "generate_ms": statistics.median(gen), "generated": text}


def node_times(classifier: Path, lm: Path, options: dict) -> dict:
    script = f"""
const ort = require({json.dumps(str(ROOT / 'examples/node/node_modules/onnxruntime-node'))});
(async () => {{
  const seqkit = await import({json.dumps((ROOT / 'js/seqkit.mjs').as_uri())});
  const {{ timeModels }} = await import({json.dumps((ROOT / 'benchmarks/web_timing.mjs').as_uri())});
  const r = await timeModels(ort, seqkit, {json.dumps(str(classifier))}, {json.dumps(str(lm))},
    {{ ...{json.dumps(options)}, sessionOptions: {{ executionProviders: ['cpu'], intraOpNumThreads: 1,
       interOpNumThreads: 1 }} }});
  console.log(JSON.stringify(r));
}})();
"""
    proc = subprocess.run([shutil.which("node") or "node", "-e", script], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode:
        raise SystemExit(f"node failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def browser_times(models: Path, options: dict) -> dict:
    from test_web import browser
    from web_server import StaticServer

    driver = browser()
    try:
        with StaticServer(ROOT, models) as url:
            driver.get(f"{url}/examples/web/index.html?classifier=/models/none&lm=/models/none")
            driver.set_script_timeout(600)
            return driver.execute_async_script("""
const [options, done] = arguments;
(async () => {
  const ort = await import('/examples/web/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/examples/web/node_modules/onnxruntime-web/dist/';
  const seqkit = await import('/js/seqkit.mjs');
  const { timeModels } = await import('/benchmarks/web_timing.mjs');
  return timeModels(ort, seqkit, '/models/classifier.onnx', '/models/lm.onnx',
    { ...options, sessionOptions: { executionProviders: ['wasm'] } });
})().then(done, (e) => done({ error: String(e) }));
""", options)
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--chars", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from seqkit.runtime.encode import Tokenizer
    from seqkit.runtime.model import load

    with tempfile.TemporaryDirectory() as tmp:
        classifier, lm = make_models(Path(tmp), args.hidden)
        meta = load(classifier).task_metadata
        tokens = len(Tokenizer(meta, {}).tokens(TEXT))
        assert tokens == 50, f"the benchmark's text has {tokens} tokens, not 50"
        options = {"text": TEXT, "prompt": PROMPT, "chars": args.chars, "seed": args.seed, "repeats": args.repeats}
        rows = {"Python onnxruntime": python_times(classifier, lm, args.chars, args.seed, args.repeats),
                "onnxruntime-node": node_times(classifier, lm, options),
                "Chromium, onnxruntime-web wasm": browser_times(Path(tmp), options)}
    load_avg = os.getloadavg()
    base = rows["Python onnxruntime"]
    print(f"GRU hidden {args.hidden}, one thread each; classify: one text of {tokens} tokens; generate: "
          f"{args.chars} characters; medians of {args.repeats} / {max(3, -(-args.repeats // 6))} runs")
    print(f"{'runtime':32} {'classify ms':>12} {'x Python':>9} {'generate ms':>12} {'x Python':>9}")
    for name, r in rows.items():
        if "error" in r:
            raise SystemExit(f"{name}: {r['error']}")
        print(f"{name:32} {r['classify_ms']:12.3f} {r['classify_ms'] / base['classify_ms']:9.2f} "
              f"{r['generate_ms']:12.1f} {r['generate_ms'] / base['generate_ms']:9.2f}")
    same = len({r["generated"] for r in rows.values()}) == 1
    print(f"same generated text in all three: {same}")
    print(f"load average: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")


if __name__ == "__main__":
    main()
