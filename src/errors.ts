import type { RecordSet } from "./records/record-set.ts";

/**
 * Typed errors. Every error Tributary raises on purpose is a `TributaryError`, so callers can
 * tell the client's failures from their own with one `instanceof` check, and each subclass
 * carries the facts needed to act on it.
 */
export class TributaryError extends Error {
  override name = "TributaryError";
}

/** The WebAssembly core could not be fetched, compiled or instantiated. */
export class WasmLoadError extends TributaryError {
  override name = "WasmLoadError";
}

/** The `.wasm` file was built for a different version of this TypeScript code. */
export class WasmAbiMismatchError extends TributaryError {
  override name = "WasmAbiMismatchError";
  readonly expected: number;
  readonly actual: number | undefined;

  constructor(expected: number, actual: number | undefined) {
    super(
      actual === undefined
        ? `the WebAssembly module is not Tributary's core (it has no tributary_abi_version export)`
        : `the WebAssembly core has ABI version ${actual} but this code needs ${expected}: ` +
          `use the tributary_core.wasm shipped with this package version`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A function that needs the core was called before it was loaded, in a runtime where it cannot
 * be loaded synchronously (browsers and other web-only runtimes).
 */
export class WasmNotReadyError extends TributaryError {
  override name = "WasmNotReadyError";
  constructor() {
    super("Tributary's WebAssembly core is not loaded yet: call `await init()` once before using it");
  }
}

/** The WebAssembly core could not grow its memory for an input this large. */
export class WasmOutOfMemoryError extends TributaryError {
  override name = "WasmOutOfMemoryError";
}

/**
 * Why an `OffsetTracker` refused a call: it was closed; offsets were delivered out of order
 * (below its fetch position, or a list not strictly ascending) or its position moved backwards;
 * or the core no longer knows its handle.
 */
export type OffsetTrackerErrorCode = "closed" | "out-of-order" | "bad-handle";

/** An `OffsetTracker` refused a call; nothing was recorded. */
export class OffsetTrackerError extends TributaryError {
  override name = "OffsetTrackerError";
  readonly code: OffsetTrackerErrorCode;

  constructor(code: OffsetTrackerErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The WebAssembly core trapped (a bug or an unforeseen input reached a Rust panic). The call's
 * result is lost, but the instance has been restored and stays usable for the next call.
 */
export class WasmTrapError extends TributaryError {
  override name = "WasmTrapError";
}

/** Why a record batch could not be decoded (codes from wasm/src/record/error.rs). */
export type CorruptRecordReason =
  | "crc-mismatch"
  | "bad-batch-header"
  | "record-overflow"
  | "bad-varint"
  | "bad-length"
  | "record-count-mismatch"
  | "decompression-failed"
  | "decompressed-too-large"
  | "unknown-codec"
  | "unknown-magic";

/**
 * A record batch failed validation: its CRC, its framing, or its compressed payload. Carries the
 * batch's base offset and size so the caller can report (adding topic and partition) or skip it,
 * and the records of the batches before it in the same input, which were valid.
 */
export class CorruptRecordError extends TributaryError {
  override name = "CorruptRecordError";
  readonly reason: CorruptRecordReason;
  readonly baseOffset: number;
  /** Bytes of the batch, from its base offset field to its end. */
  readonly length: number;
  /** Where the batch starts in the decoded input. */
  readonly position: number;
  /** Set by the caller that knows them (the fetcher). */
  topic?: string;
  partition?: number;
  /** The valid records decoded from the batches before this one. */
  readonly decodedBefore: RecordSet;

  constructor(fields: {
    reason: CorruptRecordReason;
    baseOffset: number;
    length: number;
    position: number;
    detail?: string | undefined;
    decodedBefore: RecordSet;
  }) {
    super(
      `corrupt record batch at offset ${fields.baseOffset} (${fields.length} bytes at byte ${fields.position}): ` +
        `${fields.reason}${fields.detail ? ` (${fields.detail})` : ""}`,
    );
    this.reason = fields.reason;
    this.baseOffset = fields.baseOffset;
    this.length = fields.length;
    this.position = fields.position;
    this.decodedBefore = fields.decodedBefore;
  }
}

/** Message format v0/v1 (magic 0 or 1): removed in Kafka 4, and not decoded by Tributary. */
export class UnsupportedMessageFormatError extends TributaryError {
  override name = "UnsupportedMessageFormatError";
  readonly magic: number;
  readonly baseOffset: number;
  readonly position: number;
  /** The valid records decoded from the batches before this one. */
  readonly decodedBefore: RecordSet;

  constructor(fields: { magic: number; baseOffset: number; position: number; decodedBefore: RecordSet }) {
    super(
      `message format v${fields.magic} (magic ${fields.magic}) at offset ${fields.baseOffset}: ` +
        `only record batches v2 (Kafka 0.11+) are supported; legacy formats were removed in Kafka 4`,
    );
    this.magic = fields.magic;
    this.baseOffset = fields.baseOffset;
    this.position = fields.position;
    this.decodedBefore = fields.decodedBefore;
  }
}
