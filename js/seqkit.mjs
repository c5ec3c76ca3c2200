// seqkit's JavaScript runtime: a seqkit ONNX file in node (onnxruntime-node) or a browser (onnxruntime-web), with
// the preprocessing and readable results of the Python runtime (seqkit.runtime). ESM, no build step, no imports
// of its own: pass the onnxruntime module you use.
//
//   import * as ort from 'onnxruntime-node';            // or onnxruntime-web's dist/ort.wasm.min.mjs
//   import { load, generate } from './js/seqkit.mjs';
//   const model = await load(ort, 'fortunes.onnx');    // bytes, a File, a URL or a path
//   await model.predict(['You will travel far.']);      // [{label, probability, probabilities}]
//   await generate(await load(ort, 'lm.onnx'), { prompt: 'The ', length: 100, seed: 1 });
//   await (await loadTranslator(ort, 'en-zh.onnx')).translate(['I like tea.']);  // + en-zh.decoder.onnx
export { InputError, SeqkitError } from './errors.mjs';
export { readMetadata, metadataProps } from './metadata.mjs';
export { checkFeeds, convert, makeSpec, pretty, tensor } from './checks.mjs';
export { Encoder, Tokenizer, padBatch, pythonPattern } from './encode.mjs';
export { bestPath, classNames, greedyText, interpret, softmax } from './results.mjs';
export { Mulberry32, sample } from './rng.mjs';
export { CharStream, Model, Stream, generate, load } from './model.mjs';
export { BOS, EOS, PAD, SPECIALS, Translator, UNK, detokenize, loadTranslator, words } from './translate.mjs';
