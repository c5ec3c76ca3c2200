// Translation with a seqkit sequence-to-sequence export -- the encoder file and its decoder-step file, linked by
// their "seqkit.seq2seq" metadata -- on onnxruntime (node or web, passed in): the twin of
// seqkit/runtime/translate.py's Translator, greedy decoding only. Same tokenizer (lowercased words with punctuation
// split off), same batches (``batchSize`` sentences in their order, padded), same argmax (the first of equal
// scores), same stop (EOS or the maximum length) and same detokenization (characters joined without spaces, words
// with one), so the same files give the same translations token for token.
//
//   const t = await loadTranslator(ort, 'en-zh.onnx');   // finds en-zh.decoder.onnx beside it
//   await t.translate(['I like tea.']);                   // ['我喜欢茶。']
import { InputError, SeqkitError } from './errors.mjs';
import { pythonPattern, typeName } from './encode.mjs';
import { readMetadata } from './metadata.mjs';
import { bytesOf } from './model.mjs';

export const PAD = 0;
export const UNK = 1;
export const BOS = 2;
export const EOS = 3;
export const SPECIALS = ['<pad>', '<unk>', '<bos>', '<eos>'];
const WORDS = pythonPattern('\\w+|[^\\w\\s]'); // seqkit.runtime.translate._WORDS

/** Words and punctuation marks as separate tokens (``"Don't!"`` -> don ' t !), as seqkit.runtime.translate.words. */
export function words(text, lowercase = true) {
  return (lowercase ? text.toLowerCase() : text).match(WORDS) || [];
}

/** Target tokens -> text: ``char`` joined without spaces (Chinese), ``word`` joined with one space. */
export function detokenize(tokens, unit) {
  return tokens.join(unit === 'char' ? '' : ' ');
}

const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node);

/** Where the decoder-step file named ``file`` lies, beside the encoder ``source``; null for bytes or a Blob. */
async function besides(source, file) {
  if (source instanceof URL) return new URL(file, source);
  if (typeof source !== 'string') return null;
  if (isNode && !/^https?:/.test(source)) {
    const { dirname, join } = await import('node:path');
    return join(dirname(source), file);
  }
  return new URL(file, new URL(source, globalThis.location?.href)).href;
}

/** An encoder file and its decoder step, ready to translate. Build it with loadTranslator(). */
export class Translator {
  constructor(ort, path, encoder, decoder, meta) {
    Object.assign(this, { ort, path, encoder, decoder, meta });
    this.sourceIndex = new Map(meta.source_vocab.map((w, i) => [w, i]));
    this.targetVocab = meta.target_vocab;
    this.unit = meta.target_tokens;
    this.decoderInputs = new Set(decoder.inputNames);
  }

  // -- text <-> ids -----------------------------------------------------------------------------------------
  /** A sentence -> source ids (unknown words: <unk>; cut to the maximum source length; never empty). */
  sourceIds(text) {
    if (typeof text !== 'string') {
      throw new InputError(`a sentence to translate must be text, got ${typeName(text)}`);
    }
    const ids = words(text, this.meta.lowercase ?? true).map((w) => this.sourceIndex.get(w) ?? UNK);
    const cut = ids.slice(0, this.meta.max_source_length);
    return cut.length ? cut : [UNK];
  }

  /** Target ids -> text (special ids dropped). */
  text(ids) {
    return detokenize(ids.filter((i) => i >= SPECIALS.length).map((i) => this.targetVocab[i]), this.unit);
  }

  tensor(type, data, dims) {
    return new this.ort.Tensor(type, data, dims);
  }

  /** Source id lists -> the padded ``source`` [batch, time] and ``source_lengths`` [batch] tensors. */
  pad(sources) {
    const time = Math.max(...sources.map((s) => s.length));
    const ids = new BigInt64Array(sources.length * time); // zeros: <pad>
    sources.forEach((s, row) => s.forEach((id, t) => { ids[row * time + t] = BigInt(id); }));
    const lengths = BigInt64Array.from(sources, (s) => BigInt(s.length));
    return [this.tensor('int64', ids, [sources.length, time]), this.tensor('int64', lengths, [sources.length])];
  }

  // -- the two files ----------------------------------------------------------------------------------------
  /** The encoder's outputs {name: tensor} for padded source ids and their lengths. */
  async encode(ids, lengths) {
    return this.encoder.run({ source: ids, source_lengths: lengths });
  }

  /** [decoder state, encoder outputs, encoder mask] from the encoder's outputs. */
  start(encoded) {
    return [this.meta.state_from_encoder.map((n) => encoded[n]), encoded.encoder_outputs, encoded.encoder_mask];
  }

  /** [logits tensor [batch, vocab], new state] after feeding ``tokens`` (a tensor [batch]). */
  async step(tokens, state, memory, mask) {
    const feeds = { token: tokens, encoder_outputs: memory, encoder_mask: mask };
    this.meta.state_inputs.forEach((n, i) => { feeds[n] = state[i]; });
    const out = await this.decoder.run(Object.fromEntries(Object.entries(feeds)
      .filter(([n]) => this.decoderInputs.has(n))));
    const [logits, ...rest] = this.decoder.outputNames;
    return [out[logits], rest.map((n) => out[n])];
  }

  // -- decoding ---------------------------------------------------------------------------------------------
  /** ``tensor`` with only the ``keep`` indices (ascending) along ``axis``: rows of a batch. */
  takeRows(tensor, axis, keep) {
    const dims = tensor.dims;
    const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const data = new tensor.data.constructor(outer * keep.length * inner);
    for (let o = 0; o < outer; o++) {
      keep.forEach((row, j) => {
        const from = (o * dims[axis] + row) * inner;
        data.set(tensor.data.subarray(from, from + inner), (o * keep.length + j) * inner);
      });
    }
    return this.tensor(tensor.type, data, [...dims.slice(0, axis), keep.length, ...dims.slice(axis + 1)]);
  }

  /** Greedy decoding of one batch of source id lists: the target ids of each, without BOS/EOS. A sentence that
   * has emitted EOS leaves the batch (as in Python: the tokens do not change, the finished rows' work is saved). */
  async greedyIds(sources, maxLength = null) {
    maxLength = maxLength || this.meta.max_length;
    let [state, memory, mask] = this.start(await this.encode(...this.pad(sources)));
    let tokens = new BigInt64Array(sources.length).fill(BigInt(BOS));
    let rows = sources.map((_, i) => i); // the sentence of each row still in the batch
    const out = sources.map(() => []);
    for (let s = 0; s < maxLength; s++) {
      let logits;
      [logits, state] = await this.step(this.tensor('int64', tokens, [rows.length]), state, memory, mask);
      const vocab = logits.dims[1];
      const keep = [];
      for (let row = 0; row < rows.length; row++) {
        let best = 0; // numpy's argmax: the first of equal maxima
        for (let k = 1; k < vocab; k++) if (logits.data[row * vocab + k] > logits.data[row * vocab + best]) best = k;
        if (best === EOS) continue;
        out[rows[row]].push(best);
        keep.push(row);
      }
      if (!keep.length) break;
      if (keep.length < rows.length) {
        state = state.map((t) => this.takeRows(t, 1, keep)); // [layers, batch, hidden]
        memory = this.takeRows(memory, 0, keep);
        mask = this.takeRows(mask, 0, keep);
      }
      tokens = BigInt64Array.from(keep, (row) => BigInt(out[rows[row]].at(-1)));
      rows = keep.map((row) => rows[row]);
    }
    return out;
  }

  /** Greedy translations of ``texts``, ``batchSize`` sentences at a time in their order (as Python's). */
  async translate(texts, { batchSize = 32, maxLength = null } = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SeqkitError(`batch size must be a positive integer, got ${batchSize}`);
    }
    const sources = [...texts].map((t) => this.sourceIds(t));
    const out = [];
    for (let start = 0; start < sources.length; start += batchSize) {
      out.push(...await this.greedyIds(sources.slice(start, start + batchSize), maxLength));
    }
    return out.map((ids) => this.text(ids));
  }
}

/** The "seqkit.seq2seq" metadata of a file's bytes; null when there is none or the bytes are no ONNX file. */
function seq2seqOf(bytes) {
  try {
    return readMetadata(bytes).seq2seq ?? null;
  } catch (exc) {
    if (exc instanceof SeqkitError) return null;
    throw exc;
  }
}

/** Open a translation export on ``ort``: ``source`` is the encoder file (bytes, a Blob/File, a URL or (node) a
 * path); its decoder step is the file its metadata names beside it, or ``decoder`` (bytes, a Blob/File, a URL or
 * a path: required when ``source`` is bytes or a Blob). ``sessionOptions`` go to both InferenceSession.create,
 * the encoder's with ``intraOpNumThreads: 1`` (it runs once per batch): two thread pools spinning at once took
 * each other's cores, and greedy decoding on onnxruntime-node ran 1.6-2.3x slower on 2 cores (as in Python). */
export async function loadTranslator(ort, source, { decoder = null, sessionOptions = {} } = {}) {
  const [bytes, name] = await bytesOf(source);
  const meta = seq2seqOf(bytes);
  if (!meta || meta.role !== 'encoder') {
    throw new SeqkitError(`${name} is not the encoder file of a seqkit sequence-to-sequence export (give the file `
      + '`seqkit export` wrote with -o, not its .decoder.onnx)');
  }
  const where = decoder ?? await besides(source, meta.decoder_file);
  if (where === null) {
    throw new SeqkitError(`${name} was given as bytes, so its decoder step ${meta.decoder_file} cannot be found `
      + 'beside it; pass that file too: loadTranslator(ort, encoder, { decoder })');
  }
  let decoderBytes;
  let decoderName;
  try {
    [decoderBytes, decoderName] = await bytesOf(where);
  } catch (exc) {
    if (!(exc instanceof SeqkitError)) throw exc;
    throw new SeqkitError(`the decoder step ${String(where)} that ${name} names is missing; keep the two files of `
      + 'an export together');
  }
  const other = seq2seqOf(decoderBytes);
  if (!other || other.role !== 'decoder_step' || other.encoder_file !== meta.encoder_file) {
    throw new SeqkitError(`${decoderName} is not the decoder step of ${name} (its seqkit.seq2seq metadata does not `
      + `name ${meta.encoder_file}); give the .decoder.onnx written with it`);
  }
  const encoderSession = await ort.InferenceSession.create(bytes, { ...sessionOptions, intraOpNumThreads: 1 });
  const decoderSession = await ort.InferenceSession.create(decoderBytes, sessionOptions);
  return new Translator(ort, name, encoderSession, decoderSession, meta);
}
