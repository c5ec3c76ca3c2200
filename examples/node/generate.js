#!/usr/bin/env node
// Sample text from a seqkit language model (a file from 'seqkit export' of a language-model run) in Node.js,
// through seqkit's JavaScript runtime: the same file, prompt, temperature and seed give what `seqkit generate`
// prints.
//
//   node generate.js ../out/lm.onnx [PROMPT] [LENGTH] [TEMPERATURE] [SEED]
'use strict';

const ort = require('onnxruntime-node');

async function main(argv) {
  const [model, prompt = '', length = '200', temperature = '0.8', seed = '0'] = argv;
  if (!model) {
    console.error('usage: node generate.js MODEL.onnx [PROMPT] [LENGTH] [TEMPERATURE] [SEED]');
    return 2;
  }
  const { load, generate } = await import('../../js/seqkit.mjs');
  const m = await load(ort, model, { sessionOptions: { executionProviders: ['cpu'] } });
  console.log(await generate(m, { prompt, length: Number(length), temperature: Number(temperature),
    seed: Number(seed) }));
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
