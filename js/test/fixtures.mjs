// The fixtures tests/js_fixtures.py writes (SEQKIT_JS_FIXTURES: the JSON file's path), decoded: {"$float": "nan"}
// -> NaN, {"type", "data", "dims"} -> a tensor-like with a typed array. Run through pytest (tests/test_js.py),
// which writes them first; `make test` does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const TYPED = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array };
const FLOATS = { nan: NaN, inf: Infinity, '-inf': -Infinity };

export function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== 'object') return value;
  if ('$float' in value) return FLOATS[value.$float];
  if ('type' in value && 'data' in value && 'dims' in value && TYPED[value.type]) {
    const data = value.data.map(decode);
    const Typed = TYPED[value.type];
    return { type: value.type, data: Typed === BigInt64Array ? Typed.from(data, (v) => BigInt(v)) : Typed.from(data),
      dims: value.dims };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
}

export function load() {
  const path = process.env.SEQKIT_JS_FIXTURES;
  if (!path) throw new Error('SEQKIT_JS_FIXTURES is not set: run these tests through pytest tests/test_js.py');
  return decode(JSON.parse(readFileSync(path, 'utf8')));
}

/** Tensor-likes as plain {type, data: [numbers], dims}, for deepEqual. */
export function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  if ('type' in value && 'data' in value && 'dims' in value) {
    return { type: value.type, data: Array.from(value.data, Number), dims: [...value.dims] };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** deepEqual, numbers within ``tol`` (relative and absolute). */
export function assertClose(got, want, tol = 1e-12, where = '') {
  if (typeof want === 'number') {
    assert.equal(typeof got, 'number', `${where}: ${got} is not a number`);
    assert.ok(Math.abs(got - want) <= tol * (1 + Math.abs(want)), `${where}: ${got} != ${want}`);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${where}: ${JSON.stringify(got)} != list`);
    want.forEach((w, i) => assertClose(got[i], w, tol, `${where}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: keys`);
    for (const k of Object.keys(want)) assertClose(got[k], want[k], tol, `${where}.${k}`);
  } else {
    assert.equal(got, want, where);
  }
}
