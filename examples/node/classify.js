#!/usr/bin/env node
// Classify texts with a seqkit model from Node.js (onnxruntime-node), through seqkit's JavaScript runtime
// (js/seqkit.mjs): metadata, tokenizer, checks, padding and results come from the .onnx file, as in Python.
//
//   npm install --ignore-scripts          (once, in this folder; the package bundles the Linux x64 binary)
//   node classify.js ../out/fortunes.onnx "You will travel far." "Beware of dogs."
//
// Output per text: {"text", "label", "probability", "probabilities": {label: p}} -- the same fields as
// `seqkit predict` and seqkit.runtime's Model.predict, so the two can be compared.
'use strict';

const ort = require('onnxruntime-node');

async function main(argv) {
  const [model, ...texts] = argv;
  if (!model || texts.length === 0) {
    console.error('usage: node classify.js MODEL.onnx TEXT [TEXT ...]');
    return 2;
  }
  const { load } = await import('../../js/seqkit.mjs');
  const m = await load(ort, model, { sessionOptions: { executionProviders: ['cpu'] } });
  if (!m.encoder.tokenizer.takesText) {
    console.error(`${model}: not a text model with a tokenizer (task '${m.task}')`);
    return 1;
  }
  const results = await m.predict(texts);
  texts.forEach((text, i) => console.log(JSON.stringify({ text, ...results[i] })));
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
