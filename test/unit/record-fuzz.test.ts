/**
 * Hostile input never crashes, hangs, over-allocates or corrupts the core: 100,000 random and
 * mutated inputs each end in a RecordSet or a typed decoding error, and the instance keeps
 * decoding correctly between them. A deliberate trap is recovered from as well.
 */
import { describe, expect, it } from "vitest";
import { core } from "../../src/core/instance.ts";
import {
  CorruptRecordError,
  decodeRecordBatches,
  encodeRecordBatch,
  type RecordSet,
  UnsupportedMessageFormatError,
  WasmTrapError,
} from "../../src/entry/node.ts";
import { COMPRESSION_CODECS } from "../../src/records/types.ts";
import { seededRandom } from "../support/random.ts";
import { concat } from "../support/raw-batch.ts";

const CASES = 100_000;

function seedBatches(random: () => number): Uint8Array[] {
  return COMPRESSION_CODECS.flatMap((compression) =>
    [1, 7, 60].map((count) =>
      encodeRecordBatch(
        Array.from({ length: count }, (_, i) => ({
          key: random() < 0.2 ? null : `key-${i}`,
          value: random() < 0.1 ? null : "v".repeat(Math.floor(random() * 200)),
          headers: random() < 0.5 ? [{ key: "h", value: "x" }, { key: "h", value: null }] : [],
          timestamp: 1_700_000_000_000 + i,
        })),
        { compression, baseOffset: Math.floor(random() * 1e6) },
      )));
}

function mutate(random: () => number, input: Uint8Array): Uint8Array {
  const bytes = input.slice();
  const pick = (n: number) => Math.floor(random() * n);
  switch (pick(6)) {
    case 0: // flip a few bytes anywhere
      for (let i = 1 + pick(8); i > 0; i--) {
        const at = pick(bytes.length);
        bytes[at] = bytes[at]! ^ (1 + pick(255));
      }
      return bytes;
    case 1: // damage the compressed or record area only, keeping the header plausible
      for (let i = 1 + pick(4); i > 0; i--) bytes[61 + pick(Math.max(bytes.length - 61, 1))] = pick(256);
      return bytes;
    case 2: // a random length in the header
      new DataView(bytes.buffer).setInt32(8, pick(2) ? pick(1 << 20) - 1000 : (random() * 2 ** 32) | 0);
      return bytes;
    case 3: // a random record count
      new DataView(bytes.buffer).setInt32(57, (random() * 2 ** 32) | 0);
      return bytes;
    case 4: // cut anywhere
      return bytes.subarray(0, pick(bytes.length + 1));
    default: { // random bytes spliced in
      const at = pick(bytes.length);
      const noise = Uint8Array.from({ length: 1 + pick(40) }, () => pick(256));
      return concat(bytes.subarray(0, at), noise, bytes.subarray(at));
    }
  }
}

/** Decodes and reads every record, as a consumer would; returns what happened. */
function attempt(input: Uint8Array, verifyCrc: boolean): "ok" | "corrupt" | "legacy" {
  let set: RecordSet;
  try {
    set = decodeRecordBatches(input, { verifyCrc, maxDecompressedBytes: 8 * 1024 * 1024 });
  } catch (error) {
    if (error instanceof CorruptRecordError) return "corrupt";
    if (error instanceof UnsupportedMessageFormatError) return "legacy";
    throw error; // anything else, a WasmTrapError included, fails the test
  }
  for (const record of set) {
    if (record.offset < 0 && record.offset !== Math.trunc(record.offset)) throw new Error("impossible offset");
    void record.headers.length;
  }
  return "ok";
}

describe("decoder under hostile input", () => {
  it(`survives ${CASES.toLocaleString("en")} random and mutated inputs with typed errors only`, () => {
    const seed = Date.now() >>> 0;
    const random = seededRandom(seed);
    const seeds = seedBatches(random);
    const reference = seeds[seeds.length - 1]!;
    const referenceOffsets = [...decodeRecordBatches(reference)].map((r) => r.offset);
    const outcomes = { ok: 0, corrupt: 0, legacy: 0 };
    for (let i = 0; i < CASES; i++) {
      const input = random() < 0.1
        ? Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))
        : mutate(random, random() < 0.2 ? concat(seeds[Math.floor(random() * seeds.length)]!, seeds[0]!) : seeds[Math.floor(random() * seeds.length)]!);
      try {
        outcomes[attempt(input, random() < 0.3)]++;
      } catch (error) {
        throw new Error(`case ${i} (seed ${seed}) ended in ${String(error)}; input ${Buffer.from(input).toString("base64")}`);
      }
      if (i % 10_000 === 0) {
        expect([...decodeRecordBatches(reference)].map((r) => r.offset), `seed ${seed}`).toEqual(referenceOffsets);
      }
    }
    expect(outcomes.ok + outcomes.corrupt + outcomes.legacy).toBe(CASES);
    expect(outcomes.corrupt).toBeGreaterThan(CASES / 10); // the mutations do reach the checks
    expect(core().exports.memory.buffer.byteLength, "memory stays bounded").toBeLessThan(128 * 1024 * 1024);
  }, 120_000);

  it("turns a trap into WasmTrapError and stays usable", () => {
    const c = core();
    const good = encodeRecordBatch([{ key: "k", value: "v", timestamp: 1 }], { compression: "zstd" });
    const stackPointer = c.exports.__stack_pointer.value;
    for (let i = 0; i < 2000; i++) {
      // An input address past the end of memory: the decoder traps with its stack frame pushed.
      expect(() => c.guard("a test", () => c.exports.tributary_decode_batches(0xfffffff0, 4096, 1, 1e6))).toThrow(WasmTrapError);
    }
    expect(c.exports.__stack_pointer.value).toBe(stackPointer);
    expect(decodeRecordBatches(good).record(0).value).toEqual(new TextEncoder().encode("v"));
  });
});
