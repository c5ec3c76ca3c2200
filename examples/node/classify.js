#!/usr/bin/env node
// Classify texts with a seqkit model from Node.js (onnxruntime-node): read seqkit's metadata from the .onnx
// file, tokenize like the Python runtime, pad a batch, run, print one JSON line per text.
//
//   npm install --ignore-scripts          (once, in this folder; the package bundles the Linux x64 binary)
//   node classify.js ../out/fortunes.onnx "You will travel far." "Beware of dogs."
//
// Output per text: {"text", "label", "probability", "probabilities": {label: p}} -- the same fields as
// `seqkit predict` and seqkit.runtime's Model.predict, so the two can be compared.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

// -- seqkit metadata: ModelProto.metadata_props (field 14) holds "seqkit.*" keys with JSON values ------------
function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, pos];
    shift += 7n;
  }
}

// The fields of one protobuf message: [{field, wire, value (Buffer for length-delimited), ...}].
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let length;
      [length, pos] = readVarint(buf, pos);
      out.push({ field, value: buf.subarray(pos, pos + Number(length)) });
      pos += Number(length);
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  return out;
}

function seqkitMetadata(path) {
  const meta = {};
  for (const { field, value } of fields(fs.readFileSync(path))) {
    if (field !== 14) continue; // metadata_props: StringStringEntryProto {key = 1, value = 2}
    const entry = {};
    for (const f of fields(value)) entry[f.field] = f.value.toString('utf8');
    if (entry[1] && entry[1].startsWith('seqkit.')) meta[entry[1].slice(7)] = JSON.parse(entry[2]);
  }
  if (!meta.inputs) throw new Error(`${path} has no seqkit metadata; export it with 'seqkit export'`);
  return meta;
}

// -- the tokenizer the file records (Python's re syntax: \w is Unicode letters, digits and _) ---------------
function tokenizer(tok) {
  if (tok.kind === 'char') return (text) => Array.from(tok.lowercase ? text.toLowerCase() : text);
  const word = '\\p{L}\\p{N}_';
  const source = tok.pattern.replace(/\[\^\\w\\s\]/g, `[^${word}\\s]`).replace(/\\w/g, `[${word}]`);
  const re = new RegExp(source, 'gu');
  return (text) => (tok.lowercase ? text.toLowerCase() : text).match(re) || [];
}

async function main(argv) {
  const [model, ...texts] = argv;
  if (!model || texts.length === 0) {
    console.error('usage: node classify.js MODEL.onnx TEXT [TEXT ...]');
    return 2;
  }
  const meta = seqkitMetadata(model);
  const task = meta.task_metadata || {};
  const [tokensSpec, lengthsSpec] = meta.inputs;
  if (!task.tokenizer || !task.vocab || tokensSpec.kind !== 'ids' || lengthsSpec.kind !== 'lengths') {
    console.error(`${model}: not a text classifier with a tokenizer (task '${meta.task}')`);
    return 1;
  }
  const tok = task.tokenizer;
  const split = tokenizer(tok);
  const ids = new Map(task.vocab.map((w, i) => [w, i + 2])); // 0 padding, 1 unknown
  const encoded = texts.map((text, i) => {
    let seq = split(text).map((t) => ids.get(t) ?? tok.unknown_id);
    if (tok.max_length) seq = seq.slice(0, tok.max_length);
    if (seq.length === 0) throw new Error(`text ${i}: ${JSON.stringify(text)} has no tokens`);
    if (seq.some((id) => id < 0 || id >= tokensSpec.high)) throw new Error(`text ${i}: token id out of range`);
    return seq;
  });

  // a padded batch [batch, time] and lengths [batch], int64 as the metadata declares
  const time = Math.max(...encoded.map((s) => s.length));
  const tokens = new BigInt64Array(encoded.length * time).fill(BigInt(tok.padding_id));
  encoded.forEach((seq, b) => seq.forEach((id, t) => { tokens[b * time + t] = BigInt(id); }));
  const feeds = {
    [tokensSpec.name]: new ort.Tensor('int64', tokens, [encoded.length, time]),
    [lengthsSpec.name]: new ort.Tensor('int64', BigInt64Array.from(encoded.map((s) => BigInt(s.length))),
      [encoded.length]),
  };
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const output = (await session.run(feeds))[meta.outputs[0].name];
  const classes = output.dims[1];
  const labels = task.labels && task.labels.length === classes ? task.labels : [...Array(classes).keys()].map(String);

  texts.forEach((text, b) => {
    const logits = Array.from(output.data.subarray(b * classes, (b + 1) * classes));
    const top = Math.max(...logits);
    const exp = logits.map((v) => Math.exp(v - top));
    const sum = exp.reduce((a, v) => a + v, 0);
    const probs = exp.map((v) => v / sum);
    const best = probs.indexOf(Math.max(...probs));
    const probabilities = Object.fromEntries(labels.map((l, i) => [l, probs[i]]));
    console.log(JSON.stringify({ text, label: labels[best], probability: probs[best], probabilities }));
  });
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
