/**
 * Every version we support of the group, produce and admin APIs, sent to the real Kafka 4 broker
 * on 127.0.0.1:9092 (broker.test.ts does the same for ApiVersions, Metadata, Fetch, ListOffsets,
 * FindCoordinator, InitProducerId and DescribeConfigs). Each request is one the broker acts on,
 * and each answer is checked for what the broker must have said: an offset that moved, a member
 * id, or the exact error a bogus member gets — so a field encoded at the wrong version, or a
 * response decoded with the wrong layout, fails here and not only in our own round trips.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRecordBatch } from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { BrokerSocket } from "./broker-socket.ts";

const stamp = Date.now();
const topic = `tributary-versions-${stamp}`;
const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const UNKNOWN_MEMBER_ID = 25;
const MEMBER_ID_REQUIRED = 79;
let broker: BrokerSocket;

const versionsOf = (api: { minVersion: number; maxVersion: number }) =>
  Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => api.minVersion + i);

async function until<T>(attempt: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const value = await attempt();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("gave up waiting for the broker");
}

beforeAll(async () => {
  broker = await BrokerSocket.open();
});
afterAll(() => broker?.close());

describe.sequential("every supported version against a real Kafka 4 broker", () => {
  it("CreateTopics (a topic per version), then DeleteTopics (one per version)", async () => {
    const names = versionsOf(APIS.CreateTopics).map((v) => `${topic}-created-v${v}`);
    for (const [i, version] of versionsOf(APIS.CreateTopics).entries()) {
      const answer = await broker.send(APIS.CreateTopics, version, {
        topics: [{ name: names[i]!, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false,
      });
      expect([version, answer.topics[0]!.name, answer.topics[0]!.errorCode]).toEqual([version, names[i], 0]);
    }
    const deleteVersions = versionsOf(APIS.DeleteTopics);
    for (const [i, version] of deleteVersions.entries()) {
      const batch = names.filter((_, n) => n % deleteVersions.length === i);
      if (batch.length === 0) continue;
      const answer = await broker.send(APIS.DeleteTopics, version, { topicNames: batch, topics: batch.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: 15_000 });
      expect([version, answer.responses.map((r) => r.errorCode)]).toEqual([version, batch.map(() => 0)]);
    }
  });

  it("CreatePartitions grows the topic once per version", async () => {
    const created = await broker.send(APIS.CreateTopics, APIS.CreateTopics.maxVersion, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(0);
    let count = 1;
    for (const version of versionsOf(APIS.CreatePartitions)) {
      count++;
      const answer = await broker.send(APIS.CreatePartitions, version, { topics: [{ name: topic, count, assignments: null }], timeoutMs: 15_000, validateOnly: false });
      expect([version, answer.results[0]!.errorCode]).toEqual([version, 0]);
    }
    const metadata = await until(
      () => broker.send(APIS.Metadata, APIS.Metadata.maxVersion, { topics: [{ name: topic, topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      (m) => m.topics[0]?.partitions.length === count && m.topics[0].partitions.every((p) => p.leaderId >= 0),
    );
    expect(metadata.topics[0]!.partitions.length).toBe(1 + versionsOf(APIS.CreatePartitions).length);
  });

  it("Produce appends one record per version at the next offset; DeleteRecords moves the low watermark once per version", async () => {
    for (const [i, version] of versionsOf(APIS.Produce).entries()) {
      const answer = await broker.send(APIS.Produce, version, {
        transactionalId: null, acks: 1, timeoutMs: 15_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch([{ value: `produced at v${version}` }]) }] }],
      });
      const p = answer.responses[0]!.partitionResponses[0]!;
      expect([version, p.errorCode, p.baseOffset]).toEqual([version, 0, i]);
    }
    for (const [i, version] of versionsOf(APIS.DeleteRecords).entries()) {
      const answer = await broker.send(APIS.DeleteRecords, version, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: i + 1 }] }], timeoutMs: 15_000 });
      const p = answer.topics[0]!.partitions[0]!;
      expect([version, p.errorCode, p.lowWatermark]).toEqual([version, 0, i + 1]);
    }
  });

  it("OffsetCommit once per version, each read back by OffsetFetch at every version", async () => {
    const group = `${topic}-offsets`;
    for (const [i, version] of versionsOf(APIS.OffsetCommit).entries()) {
      const committed = 100 + i;
      const answer = await until(
        () => broker.send(APIS.OffsetCommit, version, {
          groupId: group, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1,
          topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: committed, committedLeaderEpoch: -1, committedMetadata: `v${version}` }] }],
        }),
        (a) => a.topics[0]!.partitions[0]!.errorCode !== 14, // COORDINATOR_LOAD_IN_PROGRESS right after a start
      );
      expect([version, answer.topics[0]!.partitions[0]!.errorCode]).toEqual([version, 0]);
      for (const fetchVersion of versionsOf(APIS.OffsetFetch)) {
        const fetched = await broker.send(APIS.OffsetFetch, fetchVersion, {
          groupId: group, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: false,
          groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes: [0] }] }],
        });
        const p = fetchVersion >= 8 ? fetched.groups[0]!.topics[0]!.partitions[0]! : fetched.topics[0]!.partitions[0]!;
        expect([version, fetchVersion, p.errorCode, p.committedOffset, p.metadata]).toEqual([version, fetchVersion, 0, committed, `v${version}`]);
      }
    }
  });

  it("JoinGroup at each version joins a member; SyncGroup, Heartbeat and LeaveGroup at each version act on it or refuse a bogus one", async () => {
    const protocols = [{ name: "test-assignor", metadata: new Uint8Array([1, 2, 3]) }];
    for (const version of versionsOf(APIS.JoinGroup)) {
      const group = `${topic}-join-v${version}`;
      const join = (memberId: string) => broker.send(APIS.JoinGroup, version, {
        groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null,
        protocolType: "tributary-test", protocols, reason: null,
      });
      let answer = await until(() => join(""), (a) => a.errorCode !== 14 && a.errorCode !== 15);
      // v4+: the broker hands out a member id first (KIP-394), and the member joins again with it.
      if (version >= 4) {
        expect([version, answer.errorCode]).toEqual([version, MEMBER_ID_REQUIRED]);
        answer = await join(answer.memberId);
      }
      expect([version, answer.errorCode, answer.generationId, answer.protocolName, answer.leader === answer.memberId]).toEqual([version, 0, 1, "test-assignor", true]);
      expect(answer.members.map((m) => [m.memberId, [...m.metadata]])).toEqual([[answer.memberId, [1, 2, 3]]]);
      const leave = await broker.send(APIS.LeaveGroup, APIS.LeaveGroup.maxVersion, { groupId: group, memberId: answer.memberId, members: [{ memberId: answer.memberId, groupInstanceId: null, reason: null }] });
      expect(leave.errorCode).toBe(0);
    }

    // One member, kept; each version of SyncGroup and Heartbeat speaks for it, then for a bogus one.
    const group = `${topic}-member`;
    const first = await broker.send(APIS.JoinGroup, APIS.JoinGroup.maxVersion, {
      groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: null, protocolType: "tributary-test", protocols, reason: null,
    });
    const joined = await broker.send(APIS.JoinGroup, APIS.JoinGroup.maxVersion, {
      groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: first.memberId, groupInstanceId: null, protocolType: "tributary-test", protocols, reason: null,
    });
    expect(joined.errorCode).toBe(0);
    const { memberId, generationId } = joined;
    for (const version of versionsOf(APIS.SyncGroup)) {
      const sync = (member: string) => broker.send(APIS.SyncGroup, version, {
        groupId: group, generationId, memberId: member, groupInstanceId: null, protocolType: "tributary-test", protocolName: "test-assignor",
        assignments: member === memberId ? [{ memberId, assignment: new Uint8Array([9, version]) }] : [],
      });
      // The first SyncGroup of the generation sets the assignment; later ones read it back.
      const answer = await sync(memberId);
      expect([version, answer.errorCode, [...answer.assignment]]).toEqual([version, 0, [9, APIS.SyncGroup.minVersion]]);
      expect([version, (await sync("bogus")).errorCode]).toEqual([version, UNKNOWN_MEMBER_ID]);
    }
    for (const version of versionsOf(APIS.Heartbeat)) {
      const beat = (member: string) => broker.send(APIS.Heartbeat, version, { groupId: group, generationId, memberId: member, groupInstanceId: null });
      expect([version, (await beat(memberId)).errorCode, (await beat("bogus")).errorCode]).toEqual([version, 0, UNKNOWN_MEMBER_ID]);
    }
    for (const version of versionsOf(APIS.LeaveGroup)) {
      const answer = await broker.send(APIS.LeaveGroup, version, { groupId: group, memberId: "bogus", members: [{ memberId: "bogus", groupInstanceId: null, reason: null }] });
      const errorCode = version >= 3 ? answer.members[0]!.errorCode : answer.errorCode;
      expect([version, errorCode]).toEqual([version, UNKNOWN_MEMBER_ID]);
    }

    // DescribeGroups and ListGroups at every version see the member.
    for (const version of versionsOf(APIS.DescribeGroups)) {
      const answer = await broker.send(APIS.DescribeGroups, version, { groups: [group], includeAuthorizedOperations: false });
      const g = answer.groups[0]!;
      expect([version, g.errorCode, g.groupState, g.protocolType, g.protocolData, g.members.map((m) => m.memberId)]).toEqual([version, 0, "Stable", "tributary-test", "test-assignor", [memberId]]);
    }
    for (const version of versionsOf(APIS.ListGroups)) {
      const answer = await broker.send(APIS.ListGroups, version, { statesFilter: [], typesFilter: [] });
      expect([version, answer.errorCode, answer.groups.find((g) => g.groupId === group)?.protocolType]).toEqual([version, 0, "tributary-test"]);
    }
    const left = await broker.send(APIS.LeaveGroup, APIS.LeaveGroup.maxVersion, { groupId: group, memberId, members: [{ memberId, groupInstanceId: null, reason: null }] });
    expect(left.members[0]!.errorCode).toBe(0);
  });

  it("ConsumerGroupHeartbeat at each version joins a KIP-848 member and leaves", async () => {
    for (const version of versionsOf(APIS.ConsumerGroupHeartbeat)) {
      const group = `${topic}-kip848-v${version}`;
      const memberId = randomUUID(); // v1+ wants the client's own id (KIP-1082); v0 takes it too
      const beat = (memberEpoch: number) => broker.send(APIS.ConsumerGroupHeartbeat, version, {
        groupId: group, memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: memberEpoch === 0 ? 10_000 : -1,
        subscribedTopicNames: memberEpoch === 0 ? [topic] : null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: memberEpoch === 0 ? [] : null,
      });
      const joined = await until(() => beat(0), (a) => a.errorCode !== 14 && a.errorCode !== 15);
      expect([version, joined.errorCode, joined.memberEpoch > 0, joined.heartbeatIntervalMs > 0]).toEqual([version, 0, true, true]);
      const left = await beat(-1);
      expect([version, left.errorCode, left.memberEpoch]).toEqual([version, 0, -1]);
    }
  });

  it("DeleteTopics removes the topic", async () => {
    const answer = await broker.send(APIS.DeleteTopics, APIS.DeleteTopics.maxVersion, { topicNames: [], topics: [{ name: topic, topicId: ZERO_UUID }], timeoutMs: 15_000 });
    expect(answer.responses[0]!.errorCode).toBe(0);
  });
});
