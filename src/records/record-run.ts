/**
 * A run of records on its way to a handler: the part of a decoded `RecordSet` a fetch delivers,
 * kept as columns until the records are handed over. Queues (the group consumer's per-partition
 * workers) hold runs, split them into handler calls and build the record objects of one call at a
 * time, so few record objects are alive at once: objects that wait in a queue survive scavenges
 * and get promoted, which is most of what garbage collection costs a consumer.
 */
import type { RecordSet } from "./record-set.ts";
import type { DecodedRecord } from "./types.ts";

export interface RecordRun {
  /** Number of records. */
  readonly length: number;
  /** Bytes of their keys and values (no object built to count them). */
  payloadBytes(): number;
  firstOffset(): number;
  lastOffset(): number;
  /** Every record's offset, in order. */
  offsets(): number[];
  /** The first `count` records as a run of their own; this run keeps the rest. */
  splitOff(count: number): RecordRun;
  /** The record objects, in order (built on each call). */
  records(): DecodedRecord[];
}

/** Records of a set: `ranges` holds [start, end) index pairs, in offset order. */
export class SetRun implements RecordRun {
  readonly #set: RecordSet;
  #ranges: number[];
  #length: number;

  constructor(set: RecordSet, ranges: number[], length = countOf(ranges)) {
    this.#set = set;
    this.#ranges = ranges;
    this.#length = length;
  }

  get length(): number {
    return this.#length;
  }

  /** The same records as a run of their own (splitting one does not change the other). */
  copy(): SetRun {
    return new SetRun(this.#set, this.#ranges, this.#length);
  }

  payloadBytes(): number {
    let bytes = 0;
    const ranges = this.#ranges;
    for (let r = 0; r < ranges.length; r += 2) bytes += this.#set.payloadBytes(ranges[r]!, ranges[r + 1]!);
    return bytes;
  }

  firstOffset(): number {
    return this.#set.offset(this.#ranges[0]!);
  }

  lastOffset(): number {
    return this.#set.offset(this.#ranges[this.#ranges.length - 1]! - 1);
  }

  offsets(): number[] {
    const out = new Array<number>(this.#length);
    let n = 0;
    const ranges = this.#ranges;
    for (let r = 0; r < ranges.length; r += 2) for (let i = ranges[r]!; i < ranges[r + 1]!; i++) out[n++] = this.#set.offset(i);
    return out;
  }

  splitOff(count: number): RecordRun {
    if (count >= this.#length) {
      const all = this.copy();
      this.#ranges = [];
      this.#length = 0;
      return all;
    }
    const head: number[] = [];
    const ranges = this.#ranges; // never changed in place: another run may share it
    let left = count;
    let r = 0;
    while (left > 0 && ranges[r + 1]! - ranges[r]! <= left) {
      head.push(ranges[r]!, ranges[r + 1]!);
      left -= ranges[r + 1]! - ranges[r]!;
      r += 2;
    }
    const rest = ranges.slice(r);
    if (left > 0) {
      head.push(rest[0]!, rest[0]! + left);
      rest[0]! += left;
    }
    this.#ranges = rest;
    this.#length -= count;
    return new SetRun(this.#set, head, count);
  }

  records(): DecodedRecord[] {
    const out = new Array<DecodedRecord>(this.#length);
    let n = 0;
    const ranges = this.#ranges;
    for (let r = 0; r < ranges.length; r += 2) for (let i = ranges[r]!; i < ranges[r + 1]!; i++) out[n++] = this.#set.record(i);
    return out;
  }
}

/** Records that exist as objects already (an application replaced a batch's `records`). */
export class ArrayRun implements RecordRun {
  #records: DecodedRecord[];

  constructor(records: DecodedRecord[]) {
    this.#records = records;
  }

  get length(): number {
    return this.#records.length;
  }

  payloadBytes(): number {
    let bytes = 0;
    for (const r of this.#records) bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    return bytes;
  }

  firstOffset(): number {
    return this.#records[0]!.offset;
  }

  lastOffset(): number {
    return this.#records[this.#records.length - 1]!.offset;
  }

  offsets(): number[] {
    return this.#records.map((r) => r.offset);
  }

  splitOff(count: number): RecordRun {
    const head = new ArrayRun(this.#records.slice(0, count));
    this.#records = this.#records.slice(count);
    return head;
  }

  records(): DecodedRecord[] {
    return this.#records;
  }
}

function countOf(ranges: number[]): number {
  let count = 0;
  for (let r = 0; r < ranges.length; r += 2) count += ranges[r + 1]! - ranges[r]!;
  return count;
}
