// Raw samples -> padded batches, from what an exported file says about itself: the twin of
// seqkit/runtime/encode.py, with the same messages. A sample is a text or a list of tokens (a model with a
// vocabulary), a list of token ids, a (nested) array [time, ...] of numbers or a tensor-like {type, data, dims};
// a model with several sequence inputs takes an object {input name: value} per sample.
import { InputError } from './errors.mjs';
import { ARRAYS, axis, convert, pretty, tensor, unravel } from './checks.mjs';
import { SPACE, head, pyFloat, pyList, pyRepr } from './format.mjs';

// Python's \s and \w on str (re, Unicode): str.isspace() and str.isalnum() or "_"
const WORD = '\\p{L}\\p{N}_';

/** A Python ``re`` pattern (the subset seqkit writes: \w, \s, \d, classes, alternation) as a JavaScript RegExp
 * with the same matches on Unicode text. */
export function pythonPattern(source) {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[++i];
      const set = { w: WORD, s: SPACE, d: '\\p{Nd}' }[next];
      if (set) out += inClass ? set : `[${set}]`;
      else if ('WSD'.includes(next) && !inClass) out += `[^${{ W: WORD, S: SPACE, D: '\\p{Nd}' }[next]}]`;
      else out += `\\${next}`;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return new RegExp(out, 'gu');
}

/** The tokenizer and vocabulary an exported file records: text or token strings -> ids. */
export class Tokenizer {
  constructor(meta = {}, taskConfig = {}) {
    const tok = meta.tokenizer || {};
    this.kind = tok.kind ?? null; // "word" | "char" | null: no text, only token lists
    this.lowercase = Boolean(tok.lowercase ?? this.kind === 'word');
    this.pattern = tok.pattern ? pythonPattern(tok.pattern) : null;
    this.paddingId = Number(tok.padding_id ?? meta.padding_id ?? 0);
    this.unknownId = Number(tok.unknown_id ?? meta.unknown_id ?? 1);
    this.maxLength = Number(tok.max_length || 0);
    const vocab = meta.vocab || taskConfig.vocab || [];
    this.ids = new Map(vocab.map((w, i) => [String(w), i + 2])); // ids 0 and 1: padding and unknown
  }

  get takesText() {
    return (this.kind === 'word' || this.kind === 'char') && this.ids.size > 0;
  }

  tokens(text) {
    const t = this.lowercase ? text.toLowerCase() : text;
    if (this.kind === 'char') return Array.from(t);
    if (this.pattern) return t.match(this.pattern) || [];
    return t.split(new RegExp(`[${SPACE}]+`, 'u')).filter((w) => w);
  }

  encode(tokens) {
    return tokens.map((t) => this.ids.get(t) ?? this.unknownId);
  }
}

/** Python's type name of a JavaScript value, for messages. */
export function typeName(v) {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return isTensor(v) ? 'ndarray' : 'dict';
}

export function isTensor(v) {
  return v !== null && typeof v === 'object' && 'data' in v && 'dims' in v && 'type' in v;
}

function isDict(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !isTensor(v);
}

/** A regular nested array of numbers -> [flat values, dims]; null when ragged or not numeric. */
function flatten(value) {
  const dims = [];
  for (let v = value; Array.isArray(v); v = v[0]) dims.push(v.length);
  const flat = [];
  const walk = (v, depth) => {
    if (depth === dims.length) {
      if (typeof v === 'boolean') v = Number(v);
      if (typeof v !== 'number' && typeof v !== 'bigint') return false;
      flat.push(v);
      return true;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) return false;
    return v.every((x) => walk(x, depth + 1));
  };
  return walk(value, 0) ? [flat, dims] : null;
}

/** One raw sample -> {input name: tensor-like [time, ...] or [...]}, each checked against the model's specs. */
export class Encoder {
  constructor(inputs, taskMetadata = {}, taskConfig = {}) {
    this.specs = inputs.filter((s) => s.kind !== 'lengths' && s.kind !== 'state');
    this.lengths = inputs.find((s) => s.kind === 'lengths') ?? null;
    this.tokenizer = new Tokenizer(taskMetadata, taskConfig);
    this.frontEnd = isDict(taskMetadata.front_end) ? taskMetadata.front_end : null;
  }

  get main() {
    return this.specs[0];
  }

  /** What a sample of this model is, in words (for error messages). */
  describe() {
    const spec = this.main;
    if (this.specs.length > 1) return `a dict {${this.specs.map((s) => `'${s.name}': ...`).join(', ')}}`;
    if (spec.kind === 'ids') {
      const forms = ['a list of token ids'];
      if (this.tokenizer.ids.size) forms.unshift('a list of token strings');
      if (this.tokenizer.takesText) forms.unshift('a text');
      return forms.join(' or ');
    }
    const step = spec.shape.slice(2);
    const what = step.length ? `an array [time, ${step.join(', ')}]` : 'an array [time]';
    return what + (this.frontEnd ? ' or the path of a WAV file' : '');
  }

  encode(sample, where) {
    let values;
    if (this.specs.length === 1 && !(isDict(sample) && this.main.name in sample)) {
      values = { [this.main.name]: sample };
    } else if (isDict(sample)) {
      values = sample;
      const names = this.specs.map((s) => s.name);
      const keys = Object.keys(values);
      if (names.some((n) => !keys.includes(n)) || keys.some((k) => !names.includes(k))) {
        throw new InputError(`${where}: keys [${keys.sort().map((k) => pyRepr(k)).join(', ')}], the model takes `
          + `${this.describe()}`);
      }
    } else {
      throw new InputError(`${where}: a ${typeName(sample)}; the model takes ${this.describe()}`);
    }
    return Object.fromEntries(this.specs.map((s) => [s.name, this.one(s, values[s.name], where)]));
  }

  one(spec, value, where) {
    const timed = axis(spec, 'time') === 1;
    let arr;
    if (spec.kind === 'ids') {
      arr = this.ids(spec, value, where);
    } else if (typeof value === 'string') {
      const path = value;
      if (!this.frontEnd) {
        throw new InputError(`${where}: a path (${path}), but this model has no audio front end; give `
          + `${this.describe()}`);
      }
      throw new InputError(`${where}: a path (${path}); the JavaScript runtime does not read WAV files, give the `
        + `features ${pretty(spec)} (seqkit.runtime.audio computes them)`);
    } else if (isTensor(value)) {
      arr = value;
    } else {
      const flat = Array.isArray(value) ? flatten(value) : null;
      if (!flat) {
        throw new InputError(`${where}: input '${spec.name}' is not a regular array of numbers (ragged or not `
          + `numeric); the model takes ${pretty(spec)}`);
      }
      const [data, dims] = flat;
      if (spec.dtype === 'float32' || data.some((v) => typeof v === 'number' && !Number.isInteger(v))) {
        arr = tensor('float64', Float64Array.from(data, Number), dims);
      } else {
        arr = tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), dims);
      }
    }
    let converted;
    try {
      converted = convert(spec.name, arr, spec);
    } catch (exc) {
      if (exc instanceof InputError) throw new InputError(`${where}: ${exc.message}`);
      throw exc;
    }
    const want = spec.shape.slice(1); // one sample: without the batch axis
    const dims = converted.dims;
    const oneSample = `[${want.join(', ')}]`;
    if (dims.length !== want.length) {
      throw new InputError(`${where}: input '${spec.name}' has shape ${pyList(dims)}; one sample is ${oneSample} `
        + `(the model takes ${pretty(spec)})`);
    }
    want.forEach((w, i) => {
      if (typeof w === 'number' && dims[i] !== w) {
        throw new InputError(`${where}: input '${spec.name}' has shape ${pyList(dims)}; axis ${i} must be ${w} (one `
          + `sample is ${oneSample})`);
      }
    });
    if (timed && dims[0] === 0) {
      throw new InputError(`${where}: input '${spec.name}' has no steps (time 0); a sample needs at least one`);
    }
    if (converted.type === 'float32') {
      const flat = converted.data.findIndex((v) => !Number.isFinite(v));
      if (flat >= 0) {
        const fits = arr.type === 'float64' && Number.isFinite(arr.data[flat]);
        throw new InputError(`${where}: input '${spec.name}' value ${pyFloat(converted.data[flat])} at index `
          + `${pyList(unravel(flat, dims))} ${fits ? 'does not fit float32' : 'is not finite'}; clean or drop that `
          + 'sample');
      }
    }
    if (spec.kind === 'ids' && spec.high !== null) {
      const high = BigInt(spec.high);
      const bad = converted.data.findIndex((v) => v < 0n || v >= high);
      if (bad >= 0) {
        throw new InputError(`${where}: input '${spec.name}' step ${bad}: token id ${converted.data[bad]} is outside `
          + `0..${spec.high - 1} (the model's ${spec.high} ids)`);
      }
    }
    return converted;
  }

  ids(spec, value, where) {
    const tok = this.tokenizer;
    const int64 = (ids) => tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [ids.length]);
    if (typeof value === 'string') {
      if (!tok.takesText) {
        throw new InputError(`${where}: a text, but this model records no tokenizer and vocabulary; give `
          + `${this.describe()}`);
      }
      const ids = tok.encode(tok.tokens(value));
      if (!ids.length) {
        throw new InputError(`${where}: text ${pyRepr(head(value, 40))} has no tokens; drop it or fix the text`);
      }
      return int64(tok.maxLength ? ids.slice(0, tok.maxLength) : ids);
    }
    if (Array.isArray(value) && value.length && value.every((v) => typeof v === 'string')) {
      if (!tok.ids.size) {
        throw new InputError(`${where}: token strings, but this model records no vocabulary; give token ids`);
      }
      return int64(tok.encode(value));
    }
    if (Array.isArray(value)) {
      if (value.some((v) => typeName(v) !== 'int' || typeof v === 'boolean')) {
        const kinds = [...new Set(value.map(typeName))].sort();
        throw new InputError(`${where}: input '${spec.name}' holds ${kinds.join(' and ')} values; give `
          + `${this.describe()}`);
      }
      return int64(value);
    }
    if (isTensor(value)) return value;
    throw new InputError(`${where}: a ${typeName(value)}; the model takes ${this.describe()}`);
  }
}

/** Feeds for one batch: sequence inputs padded along time (ids with ``paddingId``, numbers with 0), per-sample
 * inputs stacked, and ``lengths`` when the model takes it. */
export function padBatch(encoded, specs, lengths, paddingId = 0) {
  const feeds = {};
  let steps = null;
  for (const spec of specs) {
    const arrays = encoded.map((e) => e[spec.name]);
    const Array_ = ARRAYS[spec.dtype];
    const inner = arrays[0].dims.slice(1);
    const per = inner.reduce((a, d) => a * d, 1);
    if (axis(spec, 'time') === 1) {
      const n = arrays.map((a) => a.dims[0]);
      if (steps !== null) {
        const b = n.findIndex((v, i) => v !== steps[i]);
        if (b >= 0) {
          throw new InputError(`sample ${b}: its inputs have different numbers of steps (${steps[b]} and ${n[b]}); `
            + 'give them the same length');
        }
      }
      steps = n;
      const time = Math.max(...n);
      const data = new Array_(arrays.length * time * per);
      if (spec.kind === 'ids') data.fill(BigInt(paddingId));
      arrays.forEach((a, i) => data.set(a.data, i * time * per));
      feeds[spec.name] = tensor(spec.dtype, data, [arrays.length, time, ...inner]);
    } else {
      const data = new Array_(arrays.length * per);
      arrays.forEach((a, i) => data.set(a.data, i * per));
      feeds[spec.name] = tensor(spec.dtype, data, [arrays.length, ...inner]);
    }
  }
  if (lengths) {
    if (steps === null) throw new InputError('the model takes lengths but no input has a time axis');
    feeds[lengths.name] = tensor('int64', BigInt64Array.from(steps, (v) => BigInt(v)), [steps.length]);
  }
  return feeds;
}
