import { describe, expect, it } from "vitest";
import { hash64, murmur3x86_128 } from "./murmur3.js";

function toBytesLE(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  words.forEach((word, i) => {
    out[i * 4] = word & 0xff;
    out[i * 4 + 1] = (word >>> 8) & 0xff;
    out[i * 4 + 2] = (word >>> 16) & 0xff;
    out[i * 4 + 3] = (word >>> 24) & 0xff;
  });
  return out;
}

describe("murmur3x86_128", () => {
  it("matches SMHasher's verification value for MurmurHash3_x86_128 (0xB3ECE62A)", () => {
    // SMHasher VerificationTest: hash keys {}, {0}, {0,1}, ..., {0..254} with seed 256 - i, concatenate the
    // digests, hash that with seed 0 and read the first four bytes little-endian.
    const key = new Uint8Array(256);
    const digests: number[] = [];
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      digests.push(...murmur3x86_128(key.subarray(0, i), 256 - i));
    }
    const [final] = murmur3x86_128(toBytesLE(digests), 0);
    expect(final).toBe(0xb3ece62a);
  });

  it.each([{ name: "empty input, seed 0", bytes: new Uint8Array(0), seed: 0, expected: [0, 0, 0, 0] }])(
    "$name",
    ({ bytes, seed, expected }) => {
      expect(murmur3x86_128(bytes, seed)).toEqual(expected);
    },
  );

  it("returns unsigned 32-bit words", () => {
    for (const text of ["", "a", "hello world", "ünïcödé", "x".repeat(100)]) {
      for (const word of murmur3x86_128(new TextEncoder().encode(text))) {
        expect(Number.isInteger(word) && word >= 0 && word <= 0xffffffff).toBe(true);
      }
    }
  });
});

describe("hash64", () => {
  const hashOf = (text: string) => {
    const into = { hi: -1, lo: -1 };
    hash64(text, into);
    return into;
  };

  it("is deterministic and distinguishes near-identical inputs", () => {
    expect(hashOf("user-1")).toEqual(hashOf("user-1"));
    expect(hashOf("user-1")).not.toEqual(hashOf("user-2"));
    expect(hashOf("s:1")).not.toEqual(hashOf("n:1"));
  });

  it("hashes the UTF-8 bytes, whatever the text's length or characters", () => {
    for (const text of ["a", "é😀\u0000x", "x".repeat(5000), "😀".repeat(700), "tally"]) {
      const [hi, lo] = murmur3x86_128(new TextEncoder().encode(text));
      expect(hashOf(text)).toEqual({ hi, lo });
    }
  });

  // Persisted HyperLogLog states are only mergeable with new ones while the hash stays the same: pin it.
  it.each([
    { text: "", hi: 0, lo: 0 },
    { text: "tally", hi: 0x83b2ab9c, lo: 0xd40617fa },
    { text: "s:user-1", hi: 0xe7961af1, lo: 0xc5c73a43 },
    { text: "n:42", hi: 0xbb102197, lo: 0x5d115fc8 },
  ])("pins hash64($text)", ({ text, hi, lo }) => {
    expect(hashOf(text)).toEqual({ hi, lo });
  });
});
