import { describe, expect, it } from "vitest";
import { KafkaProtocolError, TributaryError, UnsupportedVersionError } from "../../src/errors.ts";
import { ERROR_CODES, errorForCode, kafkaError } from "../../src/protocol/error-codes.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { negotiateVersions, pickVersion } from "../../src/protocol/versions.ts";
import * as root from "../../src/index.ts";

describe("error codes", () => {
  it("covers every code from -1 to 133 (99 is unassigned in Kafka)", () => {
    for (let code = -1; code <= 133; code++) if (code !== 99) expect(ERROR_CODES.get(code)?.code).toBe(code);
    expect(ERROR_CODES.get(6)).toMatchObject({ name: "NOT_LEADER_OR_FOLLOWER", retriable: true });
    expect(ERROR_CODES.get(29)).toMatchObject({ name: "TOPIC_AUTHORIZATION_FAILED", retriable: false });
    expect(errorForCode(500)).toMatchObject({ name: "UNKNOWN_ERROR_CODE_500", retriable: false });
  });

  it("kafkaError builds a typed error with topic and partition", () => {
    expect(kafkaError(0)).toBeNull();
    const error = kafkaError(3, { topic: "t", partition: 2 })!;
    expect(error).toBeInstanceOf(KafkaProtocolError);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 3, errorName: "UNKNOWN_TOPIC_OR_PARTITION", retriable: true, topic: "t", partition: 2 });
    expect(error.message).toMatch(/^UNKNOWN_TOPIC_OR_PARTITION \(t-2\)/);
  });

  it("is exported from the package root", () => {
    expect(root.ERROR_CODES).toBe(ERROR_CODES);
    expect(root.KafkaProtocolError).toBe(KafkaProtocolError);
    expect(typeof root.ProtocolDecodeError).toBe("function");
  });
});

describe("version negotiation", () => {
  it("picks the highest common version", () => {
    expect(pickVersion(APIS.Fetch, [{ apiKey: 1, minVersion: 4, maxVersion: 18 }])).toBe(17);
    expect(pickVersion(APIS.Fetch, [{ apiKey: 1, minVersion: 0, maxVersion: 11 }])).toBe(11);
  });

  it("a missing API or no overlap is an UnsupportedVersionError naming both ranges", () => {
    expect(() => pickVersion(APIS.Fetch, [])).toThrow(/broker does not support Fetch \(API key 1\); Tributary speaks versions 4-17/);
    const error = (() => {
      try {
        pickVersion(APIS.Produce, [{ apiKey: 0, minVersion: 0, maxVersion: 2 }]);
      } catch (e) {
        return e as UnsupportedVersionError;
      }
    })()!;
    expect(error).toBeInstanceOf(UnsupportedVersionError);
    expect(error).toMatchObject({ api: "Produce", brokerRange: { min: 0, max: 2 }, clientRange: { min: 3, max: 11 } });
    expect(error.message).toMatch(/broker supports 0-2, Tributary 3-11/);
    const { versions, unsupported } = negotiateVersions([APIS.Produce, APIS.Fetch], [{ apiKey: 1, minVersion: 4, maxVersion: 18 }]);
    expect([...versions]).toEqual([["Fetch", 17]]);
    expect([...unsupported.keys()]).toEqual(["Produce"]);
  });
});
