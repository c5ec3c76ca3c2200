// The page's logic: load seqkit files (the ones named by ?classifier=URL&lm=URL, by default ../out/fortunes.onnx
// and ../out/lm.onnx, or one picked with the file inputs), classify the typed texts, generate text. Everything
// comes from local files: onnxruntime-web from node_modules (npm install in this folder), seqkit's runtime from
// js/ at the repository root (serve the repository root: see README.md).
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { generate, load } from '../../js/seqkit.mjs';

ort.env.wasm.numThreads = 1; // no SharedArrayBuffer needed: a plain static server will do
ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
const SESSION = { sessionOptions: { executionProviders: ['wasm'] } };
const $ = (id) => document.getElementById(id);
const models = { classifier: null, lm: null };
$('backend').textContent = `onnxruntime-web ${ort.env.versions?.web ?? ''}`;

async function use(kind, source, label) {
  const status = $(`${kind}-status`);
  status.classList.remove('error');
  status.textContent = `loading ${label} ...`;
  try {
    const model = await load(ort, source, SESSION);
    models[kind] = model;
    status.textContent = `${label}: ${model.cell} / ${model.task}`;
    $(kind === 'classifier' ? 'classify' : 'generate').disabled = false;
  } catch (exc) {
    status.textContent = `${label}: ${exc.message}`;
    status.classList.add('error');
  }
}

async function classify() {
  $('classify-error').textContent = '';
  const texts = $('texts').value.split('\n').filter((t) => t.trim());
  try {
    const results = await models.classifier.predict(texts, { sources: texts.map((_, i) => `line ${i + 1}`) });
    const table = $('labels');
    table.replaceChildren();
    table.insertAdjacentHTML('beforeend', '<tr><th>text</th><th>label</th><th>probability</th></tr>');
    results.forEach((r, i) => {
      const row = table.insertRow();
      row.insertCell().textContent = texts[i];
      row.insertCell().textContent = r.label;
      const cell = row.insertCell();
      cell.innerHTML = `<span class="bar" style="width: ${(r.probability * 6).toFixed(2)}em"></span> `;
      cell.append(r.probability.toFixed(3));
    });
    $('classify-json').textContent = JSON.stringify({ texts, results });
  } catch (exc) {
    $('classify-error').textContent = exc.message;
    $('classify-json').textContent = JSON.stringify({ texts, error: exc.message });
  }
}

async function generateText() {
  $('generate-error').textContent = '';
  const out = $('generated');
  const options = { prompt: $('prompt').value, length: Number($('length').value),
    temperature: Number($('temperature').value), seed: Number($('seed').value) };
  out.textContent = options.prompt;
  $('generate').disabled = true;
  try {
    const t0 = performance.now();
    const text = await generate(models.lm, { ...options, onChar: (ch) => { out.textContent += ch; } });
    const ms = performance.now() - t0;
    $('generate-json').textContent = JSON.stringify({ ...options, text, ms });
  } catch (exc) {
    $('generate-error').textContent = exc.message;
    $('generate-json').textContent = JSON.stringify({ ...options, error: exc.message });
  } finally {
    $('generate').disabled = false;
  }
}

$('classify').addEventListener('click', classify);
$('generate').addEventListener('click', generateText);
for (const kind of ['classifier', 'lm']) {
  $(`${kind}-file`).addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (file) use(kind, file, file.name);
  });
}

const params = new URLSearchParams(window.location.search);
await Promise.all([
  use('classifier', params.get('classifier') ?? '../out/fortunes.onnx', params.get('classifier') ?? 'fortunes.onnx'),
  use('lm', params.get('lm') ?? '../out/lm.onnx', params.get('lm') ?? 'lm.onnx'),
]);
document.body.dataset.ready = '1';
