// Greedy translation in node (onnxruntime-node, js/translate.mjs) against the Python runtime
// (seqkit.runtime.translate) on the same exported pair: tests/js_fixtures.py's write_translation trains a small
// model, exports it and records Python's decodes (SEQKIT_JS_TRANSLATION: that JSON file's path). The decodes are
// checked on onnxruntime-node and on onnxruntime-web's wasm backend (its node build: the wasm a browser runs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError, SeqkitError, loadTranslator } from '../seqkit.mjs';
import { assertClose, decode } from './fixtures.mjs';

const ort = createRequire(import.meta.url)('../../examples/node/node_modules/onnxruntime-node');
const path = process.env.SEQKIT_JS_TRANSLATION;
if (!path) throw new Error('SEQKIT_JS_TRANSLATION is not set: run these tests through pytest tests/test_js.py');
const fx = decode(JSON.parse(readFileSync(path, 'utf8')));
const translator = await loadTranslator(ort, fx.encoder);

test('greedy decodes equal Python\'s token for token: batched, alone, cut at the maximum length', async () => {
  assert.ok(fx.sentences.length >= 10);
  assert.deepEqual(fx.sentences.map((t) => translator.sourceIds(t)), fx.source_ids, 'source ids');
  const batched = [];
  for (let i = 0; i < fx.source_ids.length; i += 4) batched.push(...await translator.greedyIds(fx.source_ids.slice(i, i + 4)));
  assert.deepEqual(batched, fx.batched);
  const alone = [];
  for (const ids of fx.source_ids) alone.push((await translator.greedyIds([ids]))[0]);
  assert.deepEqual(alone, fx.alone);
  assert.deepEqual(await translator.greedyIds(fx.source_ids, 3), fx.cut);
  assert.ok(fx.cut.every((ids) => ids.length <= 3) && fx.cut.some((ids) => ids.length === 3));
  // not trivial: different sentences get different translations, of several lengths
  assert.ok(new Set(fx.batched.map((ids) => ids.join())).size >= fx.sentences.length / 2);
  assert.ok(new Set(fx.batched.map((ids) => ids.length)).size >= 2);
});

test('translations are the same text, and the first step\'s scores agree within float32 noise', async () => {
  assert.deepEqual(await translator.translate(fx.sentences, { batchSize: 4 }), fx.translations);
  assert.deepEqual(await translator.translate(fx.sentences), fx.translations); // one batch of all
  const [ids, lengths] = translator.pad(fx.source_ids.slice(0, 4));
  const [state, memory, mask] = translator.start(await translator.encode(ids, lengths));
  const tokens = new ort.Tensor('int64', new BigInt64Array(4).fill(2n), [4]);
  const [logits] = await translator.step(tokens, state, memory, mask);
  assert.deepEqual(logits.dims, fx.first_logits.dims);
  assertClose(Array.from(logits.data), Array.from(fx.first_logits.data), 1e-4, 'logits');
});

test('bad files and sentences: the same one-line errors as Python', async () => {
  const loads = fx.errors.filter((e) => e.load);
  const inputs = fx.errors.filter((e) => e.translate);
  assert.equal(loads.length, 3);
  assert.equal(inputs.length, 3);
  for (const e of loads) {
    await assert.rejects(loadTranslator(ort, e.load), (exc) => exc instanceof SeqkitError && exc.message === e.error);
  }
  for (const e of inputs) {
    await assert.rejects(translator.translate(e.translate), (exc) => exc instanceof InputError
      && exc.message === e.error);
  }
  await assert.rejects(loadTranslator(ort, readFileSync(fx.encoder)), /pass that file too/);
  await assert.rejects(translator.translate(['x'], { batchSize: 0 }), /batch size must be a positive integer/);
});

test('onnxruntime-web\'s wasm backend (what a browser runs) decodes the same', async () => {
  const web = fileURLToPath(new URL('../../examples/web/node_modules/onnxruntime-web/dist/ort.node.min.mjs',
    import.meta.url));
  const wasm = await import(pathToFileURL(web).href);
  wasm.env.wasm.numThreads = 1;
  const onWeb = await loadTranslator(wasm, fx.encoder, { sessionOptions: { executionProviders: ['wasm'] } });
  const batched = [];
  for (let i = 0; i < fx.source_ids.length; i += 4) batched.push(...await onWeb.greedyIds(fx.source_ids.slice(i, i + 4)));
  assert.deepEqual(batched, fx.batched);
  assert.deepEqual(await onWeb.translate(fx.sentences, { batchSize: 4 }), fx.translations);
});
