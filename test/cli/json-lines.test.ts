/**
 * The CLI's JSON-lines record format (src/cli/json-lines.ts) on its own: the cases that Kafka's
 * Java console tools produce and that once came out wrong (see java-console-interop.test.ts).
 */
import { describe, expect, it } from "vitest";
import { formatRecordLine, parseRecordLine } from "../../src/cli/json-lines.ts";
import type { ConsumerRecord } from "../../src/consumer/consumer.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function record(fields: Partial<ConsumerRecord>): ConsumerRecord {
  return { topic: "t", partition: 0, offset: 0, timestamp: 1, key: null, value: null, headers: [], ...fields };
}

describe("CLI JSON lines", () => {
  it("prints header keys that are also Object.prototype's names as plain keys", () => {
    const line = formatRecordLine(record({
      headers: ["constructor", "__proto__", "toString", "a", "__proto__", "hasOwnProperty"].map((key, i) => ({ key, value: bytes(`v${i}`) })),
    }), false);
    // Read back without JSON.parse's __proto__ handling getting in the way: compare the text.
    expect(line).toContain('"headers":{"constructor":"v0","__proto__":["v1","v4"],"toString":"v2","a":"v3","hasOwnProperty":"v5"}');
  });

  it("keeps a leading byte-order mark in keys, values and header values", () => {
    const line = JSON.parse(formatRecordLine(record({ key: bytes("\ufeffk"), value: bytes("\ufeffv"), headers: [{ key: "h", value: bytes("\ufeffh") }] }), false));
    expect([line.key, line.value, line.headers.h]).toEqual(["\ufeffk", "\ufeffv", "\ufeffh"]);
    const message = parseRecordLine(JSON.stringify({ key: "\ufeffk", value: "\ufeffv" }), false);
    expect([message.key, message.value]).toEqual(["\ufeffk", "\ufeffv"]);
  });

  it("reads a __proto__ header key from input as a header", () => {
    const message = parseRecordLine('{"value":"x","headers":{"__proto__":"p","constructor":["c1","c2"]}}', false);
    expect(message.headers).toEqual([{ key: "__proto__", value: "p" }, { key: "constructor", value: "c1" }, { key: "constructor", value: "c2" }]);
  });
});
