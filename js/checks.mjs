// Input validation from a model's own metadata, before anything runs: the twin of seqkit/runtime/checks.py,
// with the same messages. A feed is a tensor-like {type, data, dims} (an onnxruntime Tensor is one): data a
// Float32Array (float32) or BigInt64Array (int64); int32 -> int64 and float64 -> float32 are converted, like
// Python does, nothing else.
import { InputError } from './errors.mjs';
import { pyFloat, pyList } from './format.mjs';

export const ARRAYS = { float32: Float32Array, int64: BigInt64Array };
const FLOATING = new Set(['float16', 'float32', 'float64']);

/** One declared input or output (metadata dict -> {name, shape, dtype, description, kind, high}). */
export function makeSpec(d) {
  return { name: d.name, shape: [...d.shape], dtype: d.dtype ?? 'float32', description: d.description ?? '',
    kind: d.kind ?? 'data', high: d.high ?? null };
}

export function axis(spec, name) {
  const i = spec.shape.indexOf(name);
  return i < 0 ? null : i;
}

export function pretty(spec) {
  return `[${spec.shape.join(', ')}]`;
}

export function sampleName(samples, b) {
  return samples && b < samples.length ? samples[b] : `sample ${b}`;
}

/** A tensor-like {type, data, dims}. */
export function tensor(type, data, dims) {
  return { type, data, dims: [...dims] };
}

/** ``value`` as a tensor-like of ``spec.dtype``; only int32 -> int64 and float64 -> float32 are converted. */
export function convert(name, value, spec) {
  const want = spec.dtype;
  if (value.type === want) return value;
  if (value.type === 'int32' && want === 'int64') {
    return tensor(want, BigInt64Array.from(value.data, (v) => BigInt(v)), value.dims);
  }
  if (value.type === 'float64' && want === 'float32') return tensor(want, Float32Array.from(value.data), value.dims);
  let hint;
  if (spec.kind === 'ids' && FLOATING.has(value.type)) {
    hint = 'token ids must be integers; round and convert them yourself with .astype(np.int64)';
  } else if (spec.kind === 'lengths') {
    hint = 'lengths must be integers (int64, or int32)';
  } else if (FLOATING.has(want)) {
    hint = 'give float32 (float64 is converted when its values fit)';
  } else {
    hint = 'give int64 (int32 is converted)';
  }
  throw new InputError(`input '${name}': dtype ${value.type}, the model takes ${want} ${pretty(spec)}; ${hint}`);
}

/** The index [i, j, ...] of flat position ``flat`` in an array of ``dims``. */
export function unravel(flat, dims) {
  const idx = new Array(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = flat % dims[i];
    flat = Math.floor(flat / dims[i]);
  }
  return idx;
}

/** [sample, index within the sample] of flat position ``flat``. */
export function firstBad(flat, dims, batchAxis) {
  const where = unravel(flat, dims);
  if (batchAxis === null) return [0, where];
  return [where[batchAxis], [...where.slice(0, batchAxis), ...where.slice(batchAxis + 1)]];
}

/** Validated (and losslessly converted) feeds for ``specs``, in their order; an InputError naming the input and
 * the sample (``samples[b]``, default "sample b") for the first problem found. */
export function checkFeeds(specs, feeds, samples = null) {
  const names = specs.map((s) => s.name);
  const missing = names.filter((n) => !(n in feeds));
  if (missing.length) throw new InputError(`input '${missing[0]}' is missing; the model takes ${names.join(', ')}`);
  const extra = Object.keys(feeds).filter((n) => !names.includes(n)).sort();
  if (extra.length) {
    throw new InputError(`input '${extra[0]}' is not an input of this model; it takes ${names.join(', ')}`);
  }
  const out = {};
  const sizes = new Map();
  for (const spec of specs) {
    const arr = convert(spec.name, feeds[spec.name], spec);
    if (arr.dims.length !== spec.shape.length) {
      throw new InputError(`input '${spec.name}': ${arr.dims.length} dimension(s) ${pyList(arr.dims)}, the model `
        + `takes ${spec.shape.length}: ${pretty(spec)}`);
    }
    spec.shape.forEach((want, i) => {
      const got = arr.dims[i];
      if (typeof want === 'number') {
        if (got !== want) {
          throw new InputError(`input '${spec.name}': axis ${i} has size ${got}, the model takes ${want} `
            + `${pretty(spec)}`);
        }
        return;
      }
      if (got === 0) {
        throw new InputError(`input '${spec.name}': axis ${i} ('${want}') is empty; give at least one ${want} entry`);
      }
      if (sizes.has(want) && sizes.get(want)[0] !== got) {
        const [size, other] = sizes.get(want);
        throw new InputError(`input '${spec.name}': axis ${i} ('${want}') has size ${got} but input '${other}' has `
          + `${size}; all inputs share '${want}'`);
      }
      if (!sizes.has(want)) sizes.set(want, [got, spec.name]);
    });
    out[spec.name] = arr;
  }
  for (const spec of specs) {
    const arr = out[spec.name];
    const batchAxis = axis(spec, 'batch');
    if (arr.type === 'float32') {
      const flat = arr.data.findIndex((v) => !Number.isFinite(v));
      if (flat >= 0) {
        const [b, idx] = firstBad(flat, arr.dims, batchAxis);
        const original = feeds[spec.name];
        const overflow = original.type === 'float64' && Number.isFinite(original.data[flat]);
        const what = overflow ? 'does not fit float32' : 'is not finite';
        throw new InputError(`input '${spec.name}' ${sampleName(samples, b)}: value ${pyFloat(arr.data[flat])} at `
          + `index ${pyList(idx)} ${what}; clean or drop that sample`);
      }
    }
    if (spec.kind === 'lengths') {
      const time = sizes.get('time');
      const high = time ? BigInt(time[0]) : 2n ** 63n - 1n;
      const flat = arr.data.findIndex((v) => v < 1n || v > high);
      if (flat >= 0) {
        const [b] = firstBad(flat, arr.dims, batchAxis);
        const where = time ? `1..${time[0]} (the 'time' size of input '${time[1]}')` : '>= 1';
        throw new InputError(`input '${spec.name}' ${sampleName(samples, b)}: length ${arr.data[b]} is outside `
          + `${where}; a length counts the valid steps of its sample`);
      }
    } else if (spec.kind === 'ids' && spec.high !== null) {
      const high = BigInt(spec.high);
      const flat = arr.data.findIndex((v) => v < 0n || v >= high);
      if (flat >= 0) {
        const [b, idx] = firstBad(flat, arr.dims, batchAxis);
        throw new InputError(`input '${spec.name}' ${sampleName(samples, b)} step ${idx.length ? idx[0] : 0}: `
          + `token id ${arr.data[flat]} is outside 0..${spec.high - 1} (the model's ${spec.high} ids); `
          + 'padding steps too must hold a valid id, such as 0');
      }
    }
  }
  return out;
}
