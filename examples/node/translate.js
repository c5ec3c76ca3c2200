#!/usr/bin/env node
// Translate sentences with a seqkit translation export from Node.js (onnxruntime-node), through seqkit's
// JavaScript runtime (js/seqkit.mjs): MODEL is the encoder file `seqkit export` wrote with -o; its decoder step
// (MODEL's name with .decoder.onnx) must lie beside it. Greedy decoding, as `seqkit predict MODEL --text ...`.
//
//   npm install --ignore-scripts          (once, in this folder; the package bundles the Linux x64 binary)
//   node translate.js ../out/en-zh.onnx "I like tea." "Where is the station?"
//
// Output per sentence, one JSON line: {"sample", "source", "text", "translation"} -- the fields of
// `seqkit predict MODEL --text ...`, so the two can be compared.
'use strict';

const ort = require('onnxruntime-node');

async function main(argv) {
  const [model, ...texts] = argv;
  if (!model || texts.length === 0) {
    console.error('usage: node translate.js MODEL.onnx SENTENCE [SENTENCE ...]');
    return 2;
  }
  const { loadTranslator } = await import('../../js/seqkit.mjs');
  const translator = await loadTranslator(ort, model, { sessionOptions: { executionProviders: ['cpu'] } });
  const translations = await translator.translate(texts);
  texts.forEach((text, i) => console.log(JSON.stringify({ sample: i, source: `--text ${i + 1}`, text,
    translation: translations[i] })));
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
