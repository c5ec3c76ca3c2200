// seqkit's JavaScript runtime against what the Python runtime gives on the same cases (tests/js_fixtures.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder, InputError, Mulberry32, Tokenizer, checkFeeds, detokenize, interpret, makeSpec, padBatch,
  sample, words } from '../seqkit.mjs';
import { pyRepr } from '../format.mjs';
import { assertClose, load, plain } from './fixtures.mjs';

const fx = load();

function outcome(fn) {
  try {
    return { ok: plain(fn()) };
  } catch (exc) {
    if (!(exc instanceof InputError)) throw exc;
    return { error: exc.message };
  }
}

test('the tokenizer splits and looks up as Python does', () => {
  assert.ok(fx.tokenizer.length >= 20);
  for (const c of fx.tokenizer) {
    const tok = new Tokenizer(c.meta, {});
    const tokens = tok.tokens(c.text);
    assert.deepEqual(tokens, c.tokens, `tokens of ${JSON.stringify(c.text)}`);
    assert.deepEqual(tok.encode(tokens), c.ids, `ids of ${JSON.stringify(c.text)}`);
  }
});

test('encoding samples: the same ids and arrays, or the same one-line error', () => {
  let errors = 0;
  for (const c of fx.encoder) {
    const encoder = new Encoder(c.inputs.map(makeSpec), c.meta, {});
    if (c.batch) {
      const encoded = c.batch.map((t) => encoder.encode(t, 's'));
      assert.deepEqual(plain(padBatch(encoded, encoder.specs, encoder.lengths, 0)), plain(c.want.ok));
      continue;
    }
    const got = outcome(() => encoder.encode(c.sample, c.where));
    if (c.want.error) errors += 1;
    assert.deepEqual(got, plain(c.want), `sample ${JSON.stringify(c.sample)}`);
  }
  assert.ok(errors >= 15, `only ${errors} error cases`);
});

test('feeds are checked with the same messages', () => {
  for (const c of fx.checks) {
    const got = outcome(() => checkFeeds(c.specs.map(makeSpec), c.feeds, c.samples));
    assert.deepEqual(got, plain(c.want));
  }
});

test('outputs become the same results: labels, tags, CTC text, forecasts, values', () => {
  assert.deepEqual(fx.results.map((c) => c.name),
    ['label', 'unnamed', 'tags', 'ctc', 'ctc-spaces', 'forecast', 'scalar', 'steps', 'several']);
  for (const c of fx.results) {
    const got = interpret(c.outputs.map(makeSpec), c.values, c.lengths, c.meta);
    assertClose(got, c.want, 1e-12, c.name);
  }
});

test('mulberry32 draws the numbers Python draws, and sampling picks the same ids', () => {
  for (const [seed, draws] of Object.entries(fx.rng.draws)) {
    const r = new Mulberry32(BigInt(seed));
    assert.deepEqual(draws.map(() => r.nextUint32()), draws, `seed ${seed}`);
  }
  const rows = [];
  const { data, dims } = fx.rng.logits;
  for (let i = 0; i < dims[0]; i++) rows.push(data.subarray(i * dims[1], (i + 1) * dims[1]));
  for (const s of fx.rng.samples) {
    const r = new Mulberry32(s.seed);
    assert.deepEqual(rows.map((row) => sample(row, s.temperature, r, s.banned)), s.ids, `temperature ${s.temperature}`);
    assert.ok(!s.ids.includes(s.banned));
  }
});

test("messages quote texts as Python's repr does", () => {
  for (const [text, want] of fx.repr) assert.equal(pyRepr(text), want);
});

test('translation splits sentences into words and joins target tokens as Python does', () => {
  assert.ok(fx.translation_text.words.length >= 15);
  for (const [text, lower, kept] of fx.translation_text.words) {
    assert.deepEqual(words(text), lower, `words of ${JSON.stringify(text)}`);
    assert.deepEqual(words(text, false), kept, `words (case kept) of ${JSON.stringify(text)}`);
  }
  for (const [tokens, unit, want] of fx.translation_text.detokenize) assert.equal(detokenize(tokens, unit), want);
});
