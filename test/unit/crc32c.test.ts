import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/entry/node.ts";
import { preferScalarChecksums } from "../../src/core/instance.ts";
import { javaHashes } from "../support/java-oracle.ts";
import { randomBytes, seededRandom } from "../support/random.ts";

const ascii = (text: string) => new TextEncoder().encode(text);

describe("crc32c", () => {
  // RFC 3720 (iSCSI), appendix B.4.
  it("matches the RFC 3720 test vectors", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    const iscsiReadPdu = Uint8Array.from([
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(crc32c(iscsiReadPdu)).toBe(0xd9963a56);
  });

  it("returns unsigned values and handles empty input", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it("checksums a view without reading outside it", () => {
    const backing = ascii("xx123456789yy");
    expect(crc32c(backing.subarray(2, 11))).toBe(0xe3069283);
  });

  it("agrees with java.util.zip.CRC32C on random data, including inputs that grow the core's memory", async () => {
    const seed = Date.now() >>> 0;
    const random = seededRandom(seed);
    const inputs = Array.from({ length: 400 }, (_, i) =>
      randomBytes(random, i < 390 ? Math.floor(random() * 4096) : 1 << (17 + (i % 4))),
    );
    const expected = await javaHashes(inputs);
    const mismatches = inputs.flatMap((input, i) =>
      crc32c(input) === expected[i]!.crc32c ? [] : [{ length: input.length, index: i }],
    );
    expect(mismatches, `seed ${seed}`).toEqual([]);
  });

  it("the scalar path (chosen for Bun) gives the SIMD path's checksums, for every length and alignment", () => {
    const rand = seededRandom(3720);
    const data = randomBytes(rand, 70_000);
    const cases: Array<[number, number]> = [];
    for (let length = 0; length <= 2_100; length += 1 + (length >> 6)) cases.push([length % 16, length]);
    for (let i = 0; i < 40; i++) cases.push([Math.floor(rand() * 16), Math.floor(rand() * 69_000)]);
    const vector = cases.map(([at, length]) => crc32c(data.subarray(at, at + length)));
    preferScalarChecksums(); // this file's core only (vitest isolates test files)
    const scalar = cases.map(([at, length]) => crc32c(data.subarray(at, at + length)));
    expect(scalar).toEqual(vector);
    expect(new Set(vector).size).toBeGreaterThan(cases.length - 5);
  });

  it("rejects what is not bytes with a TypeError", () => {
    expect(() => crc32c("abc" as unknown as Uint8Array)).toThrow(TypeError);
  });
});
