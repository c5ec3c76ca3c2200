// The sampling random numbers, defined so that Python (seqkit/runtime/rng.py) and JavaScript draw the same ones:
// mulberry32, a 32-bit generator (state += 0x6D2B79F5 each draw, then an xorshift-multiply mix), seeded with
// seed mod 2**32; random() is the 32-bit output / 2**32, in [0, 1). sample() draws an id from
// softmax(logits / temperature) by inverse CDF over exp(z - max z), summed left to right in float64.


export class Mulberry32 {
  constructor(seed = 0) {
    this.state = Number(BigInt.asUintN(32, BigInt(seed))); // negative and large seeds: mod 2**32, as in Python
  }

  /** The next 32-bit unsigned integer. */
  nextUint32() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ ((t + Math.imul(t ^ (t >>> 7), t | 61)) >>> 0)) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1): the next 32-bit output / 2**32. */
  random() {
    return this.nextUint32() / 4294967296;
  }
}


/** An id drawn from softmax(logits / temperature); the first argmax at temperature 0. ``banned`` is never drawn. */
export function sample(logits, temperature, rng, banned = null) {
  const z = Array.from(logits, Number);
  if (banned !== null && banned !== undefined) z[banned] = -Infinity;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
    return best;
  }
  const scaled = z.map((v) => v / temperature);
  const top = Math.max(...scaled);
  const weights = scaled.map((v) => Math.exp(v - top));
  let total = 0;
  for (const w of weights) total += w;
  const u = rng.random() * total;
  let acc = 0;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] > 0) last = i;
    acc += weights[i];
    if (u < acc) return i;
  }
  return last;
}
