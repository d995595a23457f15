/**
 * The CLI's record format: one JSON object a line. Keys, values and header values are UTF-8
 * strings, or base64 with `--binary`; headers are an object whose repeated keys hold arrays
 * (`{"h": ["1", "2"]}`), so duplicate headers survive a round trip in order.
 */
import type { HeaderInput } from "../records/encode.ts";
import type { RecordHeader } from "../records/types.ts";
import type { ProducerMessage } from "../producer/producer.ts";
import type { ConsumerRecord } from "../consumer/consumer.ts";

export class RecordLineError extends Error {
  override name = "RecordLineError";
}

// ignoreBOM: a value that starts with U+FEFF keeps it (by default TextDecoder would drop it).
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

function decodeBytes(text: unknown, binary: boolean, what: string): Uint8Array | string | null {
  if (text === null || text === undefined) return null;
  if (typeof text !== "string") throw new RecordLineError(`${what} must be a string or null`);
  if (!binary) return text;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new RecordLineError(`${what} is not base64 (--binary)`);
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function encodeBytes(bytes: Uint8Array | null, binary: boolean): string | null {
  if (bytes === null) return null;
  if (!binary) return utf8.decode(bytes);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Parses one input line into a message for the producer. */
export function parseRecordLine(line: string, binary: boolean): ProducerMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new RecordLineError(`not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new RecordLineError("each line must be a JSON object");
  const record = parsed as Record<string, unknown>;
  const headers: HeaderInput[] = [];
  if (record.headers !== undefined && record.headers !== null) {
    if (typeof record.headers !== "object" || Array.isArray(record.headers)) throw new RecordLineError("headers must be an object");
    for (const [key, value] of Object.entries(record.headers as Record<string, unknown>)) {
      for (const one of Array.isArray(value) ? value : [value]) {
        headers.push({ key, value: decodeBytes(one, binary, `header "${key}"`) });
      }
    }
  }
  const message: ProducerMessage = {
    key: decodeBytes(record.key, binary, "key"),
    value: decodeBytes(record.value, binary, "value"),
    headers,
  };
  if (record.partition !== undefined) {
    if (!Number.isInteger(record.partition) || (record.partition as number) < 0) throw new RecordLineError("partition must be a whole number");
    message.partition = record.partition as number;
  }
  if (record.timestamp !== undefined) {
    if (!Number.isInteger(record.timestamp)) throw new RecordLineError("timestamp must be milliseconds since the epoch");
    message.timestamp = record.timestamp as number;
  }
  return message;
}

/** Formats one consumed record as an output line (without the newline). */
export function formatRecordLine(record: ConsumerRecord, binary: boolean): string {
  // No prototype: header keys such as "constructor", "toString" or "__proto__" are plain keys.
  const headers: Record<string, string | null | Array<string | null>> = Object.create(null);
  for (const header of record.headers as RecordHeader[]) {
    const value = encodeBytes(header.value, binary);
    const existing = headers[header.key];
    if (existing === undefined) headers[header.key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[header.key] = [existing, value];
  }
  return JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: encodeBytes(record.key, binary),
    value: encodeBytes(record.value, binary),
    headers,
  });
}
