// seqkit's metadata from the bytes of an .onnx file: ModelProto.metadata_props (field 14) holds "seqkit.*"
// keys with JSON values. onnxruntime-node and -web do not expose a file's custom metadata, so the protobuf is
// read here, minimally: the top-level fields are walked and only field 14 is decoded.
import { SeqkitError } from './errors.mjs';

const PREFIX = 'seqkit.';
const utf8 = new TextDecoder('utf-8');

function varint(buf, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new SeqkitError('truncated protobuf: not an ONNX file');
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale; // exact up to 2**53: lengths and keys of an .onnx file are far below
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
}

/** The length-delimited fields of one protobuf message: [{field, value: Uint8Array}]. */
export function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      [, pos] = varint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let length;
      [length, pos] = varint(buf, pos);
      if (pos + length > buf.length) throw new SeqkitError('truncated protobuf: not an ONNX file');
      out.push({ field, value: buf.subarray(pos, pos + length) });
      pos += length;
    } else {
      throw new SeqkitError(`protobuf wire type ${wire}: not an ONNX file`);
    }
  }
  return out;
}

/** Every metadata_props entry of an ONNX file's bytes, as {key: string value}. */
export function metadataProps(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const props = {};
  for (const { field, value } of fields(buf)) {
    if (field !== 14) continue; // StringStringEntryProto {key = 1, value = 2}
    const entry = {};
    for (const f of fields(value)) entry[f.field] = utf8.decode(f.value);
    if (entry[1] !== undefined) props[entry[1]] = entry[2] ?? '';
  }
  return props;
}

/** seqkit's metadata ("seqkit.*" keys without the prefix, JSON values decoded), as seqkit.runtime reads it. */
export function readMetadata(bytes) {
  const meta = {};
  for (const [key, value] of Object.entries(metadataProps(bytes))) {
    if (!key.startsWith(PREFIX)) continue;
    try {
      meta[key.slice(PREFIX.length)] = JSON.parse(value);
    } catch {
      meta[key.slice(PREFIX.length)] = value;
    }
  }
  return meta;
}
