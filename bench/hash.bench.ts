/**
 * npm run bench:hash — throughput of the WebAssembly core's murmur2 and crc32c next to plain
 * JavaScript measured in the same run: our own fast JS (bench/baselines) and kafkajs's
 * implementations as kafkajs ships them. Prints rates and the ratio core ÷ peer.
 */
import { randomFillSync } from "node:crypto";
import { createRequire } from "node:module";
import { crc32c, murmur2, partitionsForKeys } from "tributary";
import { crc32cJs, murmur2Js } from "./baselines/plain-js-hashes.ts";

const require = createRequire(import.meta.url);
const kafkajsMurmur2: (key: Buffer | string) => number = require("kafkajs/src/producer/partitioners/default/murmur2.js");
const kafkajsCrc32c: (data: Buffer) => number = require("kafkajs/src/protocol/recordBatch/crc32C/index.js");

const MIN_SECONDS = 0.6;
const utf8 = new TextEncoder();

/** Runs `work` (which processes `units` items) repeatedly for MIN_SECONDS; returns units/second. */
function rate(units: number, work: () => unknown): number {
  for (let i = 0; i < 3; i++) work(); // warm up the JIT
  let runs = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    work();
    runs++;
    elapsed = (performance.now() - started) / 1000;
  } while (elapsed < MIN_SECONDS);
  return (units * runs) / elapsed;
}

function formatRate(value: number, unit: string): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G${unit}`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M${unit}`;
  return `${(value / 1e3).toFixed(1)} k${unit}`;
}

function report(title: string, unit: string, rows: Array<[string, number]>): void {
  const [, core] = rows[0]!;
  console.log(`\n${title}`);
  for (const [name, value] of rows) {
    const ratio = name === rows[0]![0] ? "" : `   core is ${(core / value).toFixed(2)}x`;
    console.log(`  ${name.padEnd(40)} ${formatRate(value, unit).padStart(14)}${ratio}`);
  }
}

function check(label: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${label}: baseline disagrees with the core (${actual} vs ${expected})`);
}

/** UTF-8 into one reused buffer: the fastest way plain JS gets a string's bytes. */
const reused = new Uint8Array(4096);
function encodeReused(key: string): Uint8Array {
  return reused.subarray(0, utf8.encodeInto(key, reused).written);
}

function benchMurmur2(): void {
  const count = 10_000;
  const stringKeys = Array.from({ length: count }, (_, i) => `${crypto.randomUUID()}-${i}`);
  const byteKeys = stringKeys.map((key) => utf8.encode(key));
  const bufferKeys = byteKeys.map((key) => Buffer.from(key));
  stringKeys.slice(0, 100).forEach((key, i) => {
    check("plain JS murmur2", murmur2Js(byteKeys[i]!), murmur2(key));
    check("kafkajs murmur2", kafkajsMurmur2(key), murmur2(key));
  });
  let sink = 0;
  report(`murmur2: ${count} keys of ~40 bytes (UUID strings), keys/s`, "keys/s", [
    ["core, batch (partitionsForKeys)", rate(count, () => { sink ^= partitionsForKeys(stringKeys, 12)[0]!; })],
    ["core, one call per string key", rate(count, () => { for (const key of stringKeys) sink ^= murmur2(key); })],
    ["plain JS (Math.imul), encodeInto+hash", rate(count, () => { for (const key of stringKeys) sink ^= murmur2Js(encodeReused(key)); })],
    ["kafkajs murmur2, string keys", rate(count, () => { for (const key of stringKeys) sink ^= kafkajsMurmur2(key); })],
  ]);
  report(`murmur2: ${count} keys of ~40 bytes (Uint8Array), keys/s`, "keys/s", [
    ["core, batch (partitionsForKeys)", rate(count, () => { sink ^= partitionsForKeys(byteKeys, 12)[0]!; })],
    ["core, one call per key", rate(count, () => { for (const key of byteKeys) sink ^= murmur2(key); })],
    ["plain JS (Math.imul)", rate(count, () => { for (const key of byteKeys) sink ^= murmur2Js(key); })],
    ["kafkajs murmur2, Buffer keys", rate(count, () => { for (const key of bufferKeys) sink ^= kafkajsMurmur2(key); })],
  ]);
  if (sink === 0.5) console.log(sink); // keeps the results observable so no work is optimised away
}

function benchCrc32c(): void {
  for (const size of [1024, 64 * 1024, 1024 * 1024]) {
    const data = randomFillSync(new Uint8Array(size));
    const buffer = Buffer.from(data);
    check("plain JS crc32c", crc32cJs(data), crc32c(data));
    check("kafkajs crc32c", kafkajsCrc32c(buffer) >>> 0, crc32c(data));
    let sink = 0;
    report(`crc32c: ${size / 1024} KiB buffers, bytes/s`, "B/s", [
      ["core", rate(size, () => { sink ^= crc32c(data); })],
      ["plain JS (slice-by-8)", rate(size, () => { sink ^= crc32cJs(data); })],
      ["kafkajs crc32C", rate(size, () => { sink ^= kafkajsCrc32c(buffer); })],
    ]);
    if (sink === 0.5) console.log(sink);
  }
}

console.log(`tributary bench:hash on ${process.release.name} ${process.version} (${process.arch})`);
benchMurmur2();
benchCrc32c();
