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

/**
 * Why a connection failed: the socket could not be opened (`connect`), TLS failed (`tls`), the
 * peer closed or the socket errored (`closed`), it was closed on purpose (`closed-by-client`), the
 * peer sent a frame bigger than the limit or a negative size (`frame-too-large`), a response
 * carried a correlation id no request is waiting for (`protocol`), the connection stayed silent
 * past a request's timeout (`timeout`), or the runtime cannot open TCP sockets (`unsupported`).
 */
export type ConnectionErrorReason =
  | "connect"
  | "tls"
  | "closed"
  | "closed-by-client"
  | "frame-too-large"
  | "protocol"
  | "timeout"
  | "unsupported";

/** A connection to a broker could not be opened, or failed; `cause` holds the runtime's error. */
export class ConnectionError extends TributaryError {
  override name = "ConnectionError";
  readonly host: string;
  readonly port: number;
  readonly reason: ConnectionErrorReason;

  constructor(fields: { host: string; port: number; reason: ConnectionErrorReason; message: string; cause?: unknown }) {
    super(`${fields.host}:${fields.port}: ${fields.message}`, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.host = fields.host;
    this.port = fields.port;
    this.reason = fields.reason;
  }
}

/** An operation (a request, a connection attempt) did not finish within its time limit. */
export class TimeoutError extends TributaryError {
  override name = "TimeoutError";
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** One batch a producer could not deliver: where it was going, how many records, and why. */
export interface DeliveryFailure {
  topic: string;
  partition: number;
  records: number;
  error: TributaryError;
}

/**
 * `flush()` or `close()` could not deliver everything: every batch that failed is in `failures`
 * (each `send` of those records was rejected with its own error too). `cause` is the first error.
 */
export class DeliveryFailedError extends TributaryError {
  override name = "DeliveryFailedError";
  readonly failures: DeliveryFailure[];

  constructor(failures: DeliveryFailure[]) {
    const records = failures.reduce((n, f) => n + f.records, 0);
    const where = [...new Set(failures.map((f) => `${f.topic}/${f.partition}`))].slice(0, 5).join(", ");
    super(`${records} record${records === 1 ? "" : "s"} in ${failures.length} batch${failures.length === 1 ? "" : "es"} not delivered (${where}${failures.length > 5 ? ", …" : ""}): ${failures[0]!.error.message}`, { cause: failures[0]!.error });
    this.failures = failures;
  }
}

/** The broker rejected the client's credentials (SASL) or the authentication exchange failed. */
export class AuthenticationError extends TributaryError {
  override name = "AuthenticationError";
}

/**
 * The broker does not enable the SASL mechanism the client asked for (Kafka's
 * UNSUPPORTED_SASL_MECHANISM, error code 33); `enabledMechanisms` lists the ones it does enable.
 */
export class UnsupportedSaslMechanismError extends AuthenticationError {
  override name = "UnsupportedSaslMechanismError";
  readonly mechanism: string;
  readonly enabledMechanisms: readonly string[];

  constructor(mechanism: string, enabledMechanisms: readonly string[]) {
    super(
      `the broker does not enable SASL mechanism ${mechanism} (UNSUPPORTED_SASL_MECHANISM); ` +
        `it enables: ${enabledMechanisms.length > 0 ? enabledMechanisms.join(", ") : "none"}`,
    );
    this.mechanism = mechanism;
    this.enabledMechanisms = enabledMechanisms;
  }
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

/**
 * A Kafka broker answered with a non-zero error code. `retriable` says whether the same request
 * may succeed if sent again (after refreshing metadata or waiting), as Kafka's Java client decides.
 */
export class KafkaProtocolError extends TributaryError {
  override name = "KafkaProtocolError";
  readonly code: number;
  /** Kafka's name for the code, e.g. "NOT_LEADER_OR_FOLLOWER". */
  readonly errorName: string;
  readonly retriable: boolean;
  topic?: string;
  partition?: number;

  constructor(fields: {
    code: number;
    errorName: string;
    retriable: boolean;
    message: string;
    topic?: string | undefined;
    partition?: number | undefined;
  }) {
    super(fields.message);
    this.code = fields.code;
    this.errorName = fields.errorName;
    this.retriable = fields.retriable;
    if (fields.topic !== undefined) this.topic = fields.topic;
    if (fields.partition !== undefined) this.partition = fields.partition;
  }
}

/** The broker and Tributary share no version of an API (or the broker lacks the API). */
export class UnsupportedVersionError extends TributaryError {
  override name = "UnsupportedVersionError";
  readonly api: string;
  readonly apiKey: number;
  /** Null when the broker does not offer the API at all. */
  readonly brokerRange: { min: number; max: number } | null;
  readonly clientRange: { min: number; max: number };

  constructor(fields: {
    api: string;
    apiKey: number;
    brokerRange: { min: number; max: number } | null;
    clientRange: { min: number; max: number };
  }) {
    const client = `${fields.clientRange.min}-${fields.clientRange.max}`;
    super(
      fields.brokerRange === null
        ? `the broker does not support ${fields.api} (API key ${fields.apiKey}); Tributary speaks versions ${client}`
        : `no common version of ${fields.api} (API key ${fields.apiKey}): the broker supports ` +
          `${fields.brokerRange.min}-${fields.brokerRange.max}, Tributary ${client}`,
    );
    this.api = fields.api;
    this.apiKey = fields.apiKey;
    this.brokerRange = fields.brokerRange;
    this.clientRange = fields.clientRange;
  }
}

/** A protocol frame was truncated or malformed, or held a value Tributary cannot represent. */
export class ProtocolDecodeError extends TributaryError {
  override name = "ProtocolDecodeError";
  /** Byte position in the frame where decoding failed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * A consumer's fetch position is outside the partition's log (Kafka's OFFSET_OUT_OF_RANGE) and its
 * `offsetResetPolicy` is "error": the partition is paused until `seek` moves it.
 */
export class OffsetOutOfRangeError extends TributaryError {
  override name = "OffsetOutOfRangeError";
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;

  constructor(fields: { topic: string; partition: number; offset: number }) {
    super(`offset ${fields.offset} is out of range for ${fields.topic}:${fields.partition} (OFFSET_OUT_OF_RANGE; offsetResetPolicy "error")`);
    this.topic = fields.topic;
    this.partition = fields.partition;
    this.offset = fields.offset;
  }
}
