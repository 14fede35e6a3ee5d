// MurmurHash3 x86_128 (Austin Appleby, public domain), in 32-bit integer arithmetic.
//
// The HyperLogLog needs a hash that is stable across processes, machines and releases (partial states from
// different workers are merged register by register) and has at least 64 good bits. x86_128 gives 128 bits using
// only 32-bit multiplies, so it needs no BigInt and stays fast in V8. It is verified against SMHasher's
// verification value in the tests.

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function byteAt(bytes: Uint8Array, index: number): number {
  return bytes[index] ?? 0;
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (
    (byteAt(bytes, offset) |
      (byteAt(bytes, offset + 1) << 8) |
      (byteAt(bytes, offset + 2) << 16) |
      (byteAt(bytes, offset + 3) << 24)) >>>
    0
  );
}

function mixK1(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C1), 15), C2);
}
function mixK2(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C2), 16), C3);
}
function mixK3(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C3), 17), C4);
}
function mixK4(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C4), 18), C1);
}

/** The four 32-bit words of MurmurHash3_x86_128, h1..h4 (the reference writes them little-endian in this order). */
type Hash128 = readonly [number, number, number, number];

/** The hash of `bytes`, or of its first `length` bytes. */
export function murmur3x86_128(bytes: Uint8Array, seed = 0, length = bytes.length): Hash128 {
  const words = new Uint32Array(4);
  murmur3Into(bytes, seed, length, words);
  return [words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 0];
}

/** murmur3x86_128 into `out` (h1..h4): the per-event path allocates no tuple of heap numbers. */
function murmur3Into(bytes: Uint8Array, seed: number, length: number, out: Uint32Array): void {
  const blocks = length >>> 4;
  let h1 = seed >>> 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;

  for (let i = 0; i < blocks; i++) {
    const offset = i * 16;
    h1 ^= mixK1(readUint32LE(bytes, offset));
    h1 = rotl32(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    h2 ^= mixK2(readUint32LE(bytes, offset + 4));
    h2 = rotl32(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    h3 ^= mixK3(readUint32LE(bytes, offset + 8));
    h3 = rotl32(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    h4 ^= mixK4(readUint32LE(bytes, offset + 12));
    h4 = rotl32(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  // Tail: the reference uses a fall-through switch; collecting the remaining bytes into four lanes and mixing each
  // lane that received a byte is equivalent (each lane only touches its own h).
  const tail = blocks * 16;
  const remaining = length & 15;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  for (let j = 0; j < remaining; j++) {
    const byte = byteAt(bytes, tail + j) << ((j & 3) * 8);
    const lane = j >>> 2;
    if (lane === 0) k1 ^= byte;
    else if (lane === 1) k2 ^= byte;
    else if (lane === 2) k3 ^= byte;
    else k4 ^= byte;
  }
  if (remaining > 12) h4 ^= mixK4(k4);
  if (remaining > 8) h3 ^= mixK3(k3);
  if (remaining > 4) h2 ^= mixK2(k2);
  if (remaining > 0) h1 ^= mixK1(k1);

  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;

  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);

  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

/** Reused for every hash64 (the runtime hashes one value per event and aggregation); grows as needed. */
let scratch = Buffer.allocUnsafe(1024);
const scratchWords = new Uint32Array(4);

/** Two unsigned 32-bit halves of a 64-bit hash. */
export interface Hash64 {
  hi: number;
  lo: number;
}

/** A stable 64-bit hash of a string (its UTF-8 bytes), written into `into` (nothing allocated per call). */
export function hash64(text: string, into: Hash64): void {
  // UTF-8 needs at most 3 bytes per UTF-16 unit, so the write is never truncated.
  if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(text.length * 3);
  murmur3Into(scratch, 0, scratch.write(text, 0, "utf8"), scratchWords);
  into.hi = scratchWords[0] ?? 0;
  into.lo = scratchWords[1] ?? 0;
}
