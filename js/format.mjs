// Python's spellings, so that messages read exactly as seqkit.runtime's: repr() of a str, a float32 value as
// numpy prints a non-finite one, a list of ints.

/** Python's whitespace on str (str.isspace(), re's \\s), as the inside of a RegExp character class. */
export const SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f'
  + '\\u3000';

const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u; // str.isprintable() is false for these

/** Python's repr() of a str. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && HIDDEN.test(ch)) {
      if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** The first ``n`` characters (code points, as Python slices a str). */
export function head(text, n) {
  return Array.from(text).slice(0, n).join('');
}

/** A non-finite number as numpy prints it (nan, inf, -inf); a finite one as JavaScript does. */
export function pyFloat(value) {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

/** A Python list of ints: [1, 2]. */
export function pyList(values) {
  return `[${Array.from(values, String).join(', ')}]`;
}
