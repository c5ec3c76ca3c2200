// Model outputs -> readable results, one JSON-ready object per sample: the twin of seqkit/runtime/results.py
// (labels with probabilities, per-step tags, greedy CTC text, forecasts per column, anything else as nested
// lists) and seqkit/runtime/ctc.py's greedy decoding.
import { axis } from './checks.mjs';
import { SPACE } from './format.mjs';

const SPACES = new RegExp(`[${SPACE}]+`, 'u');

/** softmax over one row of numbers, in float64 like numpy. */
export function softmax(row) {
  const top = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - top));
  const sum = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / sum);
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** The recorded label names, or "0".."k-1" for a model never fitted on labelled data. */
export function classNames(labels, k) {
  return labels.length === k ? labels.map(String) : Array.from({ length: k }, (_, i) => String(i));
}

/** Symbol ids of the greedy path through ``rows`` (one array of scores per frame): the best id per frame,
 * repeats merged, blanks removed. */
export function bestPath(rows, blank = 0) {
  const ids = rows.map(argmax);
  return ids.filter((id, t) => (t === 0 || id !== ids[t - 1]) && id !== blank);
}

/** The greedy CTC transcription of one item: ``rows`` [time][1 + alphabet], ``alphabet[i - 1]`` the text of
 * symbol i (0 is the blank). Leading, trailing and repeated spaces collapse, as in Python. */
export function greedyText(rows, alphabet) {
  const text = bestPath(rows).map((i) => alphabet[i - 1]).join('');
  return text.split(SPACES).filter((w) => w).join(' ');
}

/** A nested array of ``data`` (flat, row-major) shaped ``dims``. */
export function nested(data, dims) {
  if (dims.length === 0) return toNumber(data[0]);
  const size = dims.slice(1).reduce((a, d) => a * d, 1);
  return Array.from({ length: dims[0] }, (_, i) => nested(data.subarray(i * size, (i + 1) * size), dims.slice(1)));
}

function toNumber(v) {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Row ``t`` of a [time, K] slice as plain numbers. */
function rows(data, time, k) {
  return Array.from({ length: time }, (_, t) => Array.from(data.subarray(t * k, (t + 1) * k), toNumber));
}

function one(spec, data, dims, length, labels, columns, alphabet) {
  const shape = spec.shape;
  const k = dims[dims.length - 1];
  if (alphabet.length && shape.length === 3 && axis(spec, 'time') === 1 && k === alphabet.length + 1) {
    const frames = length ?? dims[0];
    return { text: greedyText(rows(data, frames, k), alphabet) };
  }
  if (spec.name.endsWith('logits') && shape.length === 2) {
    const names = classNames(labels, k);
    const p = softmax(Array.from(data, toNumber));
    const best = argmax(p);
    return { label: names[best], probability: p[best],
      probabilities: Object.fromEntries(names.map((n, i) => [n, p[i]])) };
  }
  if (spec.name.endsWith('logits') && shape.length === 3 && axis(spec, 'time') === 1) {
    const names = classNames(labels, k);
    const probs = rows(data, length ?? dims[0], k).map(softmax);
    const best = probs.map(argmax);
    return { tags: best.map((i) => names[i]), tag_probabilities: best.map((i, t) => probs[t][i]) };
  }
  if (shape.length === 3 && columns.length && columns.length === k && axis(spec, 'time') === null) {
    const table = rows(data, dims[0], k);
    return { [spec.name]: Object.fromEntries(columns.map((c, j) => [String(c), table.map((r) => r[j])])) };
  }
  let value = data;
  let valueDims = dims;
  if (axis(spec, 'time') === 1 && length !== null) {
    const per = dims.slice(1).reduce((a, d) => a * d, 1);
    value = data.subarray(0, length * per);
    valueDims = [length, ...dims.slice(1)];
  }
  if (value.length === 1) return { [spec.name]: toNumber(value[0]) };
  return { [spec.name]: nested(value, valueDims) };
}

/** One result object per sample of a batch. ``values``: {output name: tensor-like with the batch axis first};
 * ``lengths``: the batch's lengths (a BigInt64Array, an array of numbers, or null). */
export function interpret(outputs, values, lengths, taskMetadata = {}) {
  const labels = taskMetadata.labels || [];
  const columns = taskMetadata.columns || [];
  const alphabet = taskMetadata.alphabet || [];
  const specs = outputs.filter((s) => s.kind !== 'state' && s.name in values);
  const batch = specs.length ? values[specs[0].name].dims[0] : 0;
  const results = [];
  for (let b = 0; b < batch; b++) {
    const length = lengths ? Number(lengths[b]) : null;
    const parts = {};
    for (const s of specs) {
      const v = values[s.name];
      const dims = v.dims.slice(1);
      const size = dims.reduce((a, d) => a * d, 1);
      parts[s.name] = one(s, v.data.subarray(b * size, (b + 1) * size), dims, length, labels, columns, alphabet);
    }
    const names = Object.keys(parts);
    if (names.length === 1) {
      results.push(parts[names[0]]);
    } else {
      results.push(Object.fromEntries(names.map((n) => {
        const p = parts[n];
        const keys = Object.keys(p);
        return [n, keys.length === 1 && keys[0] === n ? p[n] : p];
      })));
    }
  }
  return results;
}
