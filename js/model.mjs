// A seqkit ONNX file on onnxruntime (onnxruntime-node or onnxruntime-web, passed in): metadata, checked runs,
// batch prediction from raw samples, streams, and text generation -- the twin of seqkit.runtime's Model, Stream
// and generate. The module imports no onnxruntime itself, so the same code runs in node and in a browser.
import { InputError, SeqkitError } from './errors.mjs';
import { ARRAYS, axis, checkFeeds, firstBad, makeSpec, sampleName, tensor } from './checks.mjs';
import { Encoder, padBatch } from './encode.mjs';
import { readMetadata } from './metadata.mjs';
import { interpret } from './results.mjs';
import { Mulberry32, sample } from './rng.mjs';

const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node);

/** The bytes of a model: a Uint8Array/ArrayBuffer, a Blob or File (a browser's file picker), a URL (browser:
 * fetched) or a path (node: read). Returns [bytes, name for messages]. */
export async function bytesOf(source) {
  if (source instanceof Uint8Array) return [source, 'the model'];
  if (source instanceof ArrayBuffer) return [new Uint8Array(source), 'the model'];
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return [new Uint8Array(await source.arrayBuffer()), source.name || 'the model'];
  }
  const name = String(source);
  if (isNode && !(source instanceof URL && source.protocol.startsWith('http'))) {
    const { readFile } = await import('node:fs/promises');
    try {
      return [new Uint8Array(await readFile(source)), name];
    } catch (exc) {
      throw new SeqkitError(exc.code === 'ENOENT' ? `model file ${name} does not exist` : `cannot read ${name}: `
        + `${exc.message}`);
    }
  }
  const response = await fetch(source);
  if (!response.ok) throw new SeqkitError(`cannot fetch ${name}: HTTP ${response.status}`);
  return [new Uint8Array(await response.arrayBuffer()), name];
}

/** An exported seqkit model, ready to serve. Build it with load(). */
export class Model {
  constructor(ort, path, session, metadata) {
    Object.assign(this, { ort, path, session, metadata });
    this.inputs = metadata.inputs.map(makeSpec);
    this.outputs = metadata.outputs.map(makeSpec);
    this.taskMetadata = metadata.task_metadata || {};
    this.taskConfig = (metadata.config || {}).task_config || {};
    this.streaming = metadata.streaming || null;
    this.encoder = new Encoder(this.inputs, this.taskMetadata, this.taskConfig);
    this.lengths = this.encoder.lengths;
    for (const [kind, specs, names] of [['inputs', this.inputs, session.inputNames],
      ['outputs', this.outputs, session.outputNames]]) {
      const want = specs.map((s) => s.name);
      if (names.join('\0') !== want.join('\0')) {
        throw new SeqkitError(`${path}: the graph's ${kind} [${names.map((n) => `'${n}'`).join(', ')}] differ from `
          + `its metadata [${want.map((n) => `'${n}'`).join(', ')}]; the file was changed after 'seqkit export'`);
      }
    }
  }

  get task() { return this.metadata.task ?? ''; }

  get cell() { return this.metadata.cell ?? ''; }

  get labels() { return (this.taskMetadata.labels || []).map(String); }

  get stateInputs() { return this.inputs.filter((s) => s.kind === 'state'); }

  describeSample() { return this.encoder.describe(); }

  /** Check ``feeds`` ({name: tensor-like}) against the metadata, run, return {output name: tensor-like}. */
  async run(feeds, samples = null) {
    const checked = checkFeeds(this.inputs, feeds, samples);
    const ortFeeds = Object.fromEntries(Object.entries(checked).map(([n, t]) => [n,
      new this.ort.Tensor(t.type, t.data, t.dims)]));
    const got = await this.session.run(ortFeeds);
    const values = {};
    for (const spec of this.outputs) {
      const t = got[spec.name];
      const value = tensor(t.type, t.data, t.dims);
      if (value.type === 'float32') {
        const flat = value.data.findIndex((v) => !Number.isFinite(v));
        if (flat >= 0) {
          const name = sampleName(samples, firstBad(flat, value.dims, axis(spec, 'batch'))[0]);
          throw new SeqkitError(`output '${spec.name}' ${name}: the model computed a non-finite value (inputs of `
            + 'extreme size?); no result is returned rather than NaN');
        }
      }
      values[spec.name] = value;
    }
    return values;
  }

  /** Zero recurrent state for ``batch`` streams (empty for a file without --streaming). */
  zeroState(batch) {
    return Object.fromEntries(this.stateInputs.map((s) => {
      const dims = s.shape.map((a) => (a === 'batch' ? batch : a));
      return [s.name, tensor(s.dtype, new ARRAYS[s.dtype](dims.reduce((x, d) => x * d, 1)), dims)];
    }));
  }

  /** One raw sample -> one checked tensor-like per sequence input. */
  encode(sample_, where = 'sample 0') { return this.encoder.encode(sample_, where); }

  /** Feeds (padded, with lengths; zero state for a streaming file) for encoded samples. */
  batch(encoded) {
    const feeds = padBatch(encoded, this.encoder.specs, this.lengths, this.encoder.tokenizer.paddingId);
    return Object.assign(feeds, this.zeroState(encoded.length));
  }

  /** Readable results for raw ``samples``, in their order: every sample is encoded and checked first, then they
   * run ``batchSize`` at a time, by similar length (as seqkit.runtime's Model.predict). */
  async predict(samples, { batchSize = 32, sources = null } = {}) {
    samples = [...samples];
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SeqkitError(`batch size must be a positive integer, got ${batchSize}`);
    }
    if (sources && sources.length !== samples.length) {
      throw new SeqkitError(`${sources.length} sources given for ${samples.length} samples`);
    }
    const names = sources ? [...sources] : samples.map((_, i) => `sample ${i}`);
    const encoded = samples.map((s, i) => this.encoder.encode(s, names[i]));
    const timed = this.encoder.specs.filter((s) => axis(s, 'time') === 1);
    const steps = encoded.map((e) => (timed.length ? e[timed[0].name].dims[0] : 0));
    const order = [...samples.keys()].sort((a, b) => steps[a] - steps[b] || a - b);
    const batches = [];
    for (const i of order) {
      const last = batches[batches.length - 1];
      if (last && last.length < batchSize && (this.lengths || steps[last[0]] === steps[i])) last.push(i);
      else batches.push([i]);
    }
    const results = new Array(samples.length);
    for (const idx of batches) {
      const feeds = this.batch(idx.map((i) => encoded[i]));
      const values = await this.run(feeds, idx.map((i) => names[i]));
      const lengths = this.lengths ? feeds[this.lengths.name].data : null;
      interpret(this.outputs, values, lengths, this.taskMetadata).forEach((r, j) => { results[idx[j]] = r; });
    }
    return results;
  }

  /** A Stream over ``batch`` sequences (a file written with --streaming). */
  stream(batch = 1) { return new Stream(this, batch); }
}

/** A file exported with --streaming, fed chunk by chunk with its recurrent state carried between calls. */
export class Stream {
  constructor(model, batch = 1) {
    if (!model.streaming) {
      throw new SeqkitError(`${model.path} was exported without --streaming, so it cannot carry its state between `
        + "calls; export it again with 'seqkit export ... --streaming'");
    }
    if (!Number.isInteger(batch) || batch < 1) {
      throw new SeqkitError(`a stream needs a batch of at least 1 sequence, got ${batch}`);
    }
    this.model = model;
    this.batch = batch;
    this.pairs = model.streaming.state.map((d) => [d.input, d.output]);
    this.reset();
  }

  reset() {
    this.state = this.model.zeroState(this.batch);
    this.steps = new Array(this.batch).fill(0);
  }

  /** The next raw chunk of a one-sequence stream (a list of chunks for batch > 1) -> its readable result(s). */
  async push(chunk) {
    const chunks = this.batch === 1 ? [chunk] : [...chunk];
    if (chunks.length !== this.batch) {
      throw new InputError(`this stream holds ${this.batch} sequences; push a list of ${this.batch} chunks, one per `
        + `sequence (got ${chunks.length})`);
    }
    const names = chunks.map((_, i) => `chunk of sequence ${i} (after ${this.steps[i]} steps)`);
    const encoded = chunks.map((c, i) => this.model.encode(c, names[i]));
    const feeds = this.model.batch(encoded);
    const timed = this.model.encoder.specs.filter((s) => axis(s, 'time') === 1);
    const counts = encoded.map((e) => (timed.length ? e[timed[0].name].dims[0] : 0));
    if (!this.model.lengths && new Set(counts).size > 1) {
      throw new InputError('this model takes no lengths, so every sequence\'s chunk needs the same number of steps '
        + `(got [${[...new Set(counts)].sort((a, b) => a - b).join(', ')}])`);
    }
    const values = await this.model.run({ ...feeds, ...this.state }, names);
    this.state = Object.fromEntries(this.pairs.map(([i, o]) => [i, values[o]]));
    counts.forEach((n, i) => { this.steps[i] += n; });
    const lengths = this.model.lengths ? feeds[this.model.lengths.name].data : null;
    const results = interpret(this.model.outputs, values, lengths, this.model.taskMetadata);
    return this.batch === 1 ? results[0] : results;
  }
}

/** A streaming session over a character language model: feed(text) -> next-character logits. */
export class CharStream {
  constructor(model) {
    const info = model.taskMetadata;
    if (!info.streaming || !info.vocab) {
      throw new SeqkitError(`${model.path} is a '${model.task}' model, not a streaming language model; train one `
        + "with 'seqkit train --task language-model'");
    }
    this.model = model;
    this.vocab = [...info.vocab];
    this.index = new Map(this.vocab.map((ch, i) => [ch, i + 1]));
    this.unknown = Number(info.unknown_id ?? 0);
    this.stateInputs = [...info.streaming.state_inputs];
    this.stateOutputs = [...info.streaming.state_outputs];
    this.reset();
  }

  /** Back to the start of a text: zero state. */
  reset() {
    const specs = Object.fromEntries(this.model.inputs.map((s) => [s.name, s]));
    this.state = Object.fromEntries(this.stateInputs.map((n) => {
      const dims = specs[n].shape.map((a) => (a === 'batch' ? 1 : a));
      return [n, new this.model.ort.Tensor('float32', new Float32Array(dims.reduce((x, d) => x * d, 1)), dims)];
    }));
  }

  encode(text) {
    return BigInt64Array.from(Array.from(text), (ch) => BigInt(this.index.get(ch) ?? this.unknown));
  }

  /** Run ``text`` from the current state; return the logits after its last character and keep the state. */
  async feed(text) {
    if (!text) throw new SeqkitError('nothing to feed: the text is empty');
    const ids = this.encode(text);
    const tokens = new this.model.ort.Tensor('int64', ids, [1, ids.length]);
    const out = await this.model.session.run({ tokens, ...this.state });
    this.state = Object.fromEntries(this.stateInputs.map((n, i) => [n, out[this.stateOutputs[i]]]));
    const logits = out.logits;
    const k = logits.dims[logits.dims.length - 1];
    return logits.data.subarray(logits.data.length - k);
  }
}

/** ``prompt`` followed by ``length`` characters sampled from a language model (a loaded Model), as seqkit
 * generate does: same file, prompt, temperature and seed, same text. ``onChar(ch)`` is called per character. */
export async function generate(model, { prompt = '', length = 200, temperature = 0.8, seed = 0, onChar = null } = {}) {
  if (length < 0) throw new SeqkitError(`length must be >= 0, got ${length}`);
  if (temperature < 0) {
    throw new SeqkitError(`temperature must be >= 0 (0: always the most likely character), got ${temperature}`);
  }
  const stream = new CharStream(model);
  const rng = new Mulberry32(seed);
  let logits = await stream.feed(prompt || '\n');
  let out = '';
  for (let i = 0; i < length; i++) {
    const ch = stream.vocab[sample(logits, temperature, rng, stream.unknown) - 1];
    out += ch;
    if (onChar) onChar(ch);
    logits = await stream.feed(ch);
  }
  return prompt + out;
}

/** Open a file written by seqkit export on ``ort`` (the onnxruntime-node or onnxruntime-web module).
 * ``source``: bytes, a Blob/File, a URL or (node) a path; ``sessionOptions`` go to InferenceSession.create. */
export async function load(ort, source, { sessionOptions = {} } = {}) {
  const [bytes, name] = await bytesOf(source);
  const metadata = readMetadata(bytes);
  if (!metadata.inputs || !metadata.outputs) {
    throw new SeqkitError(`${name} has no seqkit metadata (seqkit.inputs / seqkit.outputs); it was not written by `
      + "'seqkit export'");
  }
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  return new Model(ort, name, session, metadata);
}
