// Timing shared by node (onnxruntime-node) and the browser (onnxruntime-web, wasm) in benchmarks/bench_web.py:
// the same js/seqkit.mjs calls on the same files. Returns median milliseconds.
export async function timeModels(ort, seqkit, classifier, lm, { text, prompt, chars, seed, repeats, sessionOptions }) {
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  const model = await seqkit.load(ort, classifier, { sessionOptions });
  const times = [];
  for (let i = 0; i < repeats + 3; i++) {
    const t0 = clock();
    await model.predict([text]);
    if (i >= 3) times.push(clock() - t0);
  }
  const lmModel = await seqkit.load(ort, lm, { sessionOptions });
  const gen = [];
  let generated = '';
  for (let i = 0; i < Math.max(3, Math.ceil(repeats / 6)) + 1; i++) {
    const t0 = clock();
    generated = await seqkit.generate(lmModel, { prompt, length: chars, temperature: 0.8, seed });
    if (i >= 1) gen.push(clock() - t0);
  }
  return { classify_ms: median(times), generate_ms: median(gen), generated };
}
