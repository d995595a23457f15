/**
 * Membership of a classic consumer group (JoinGroup / SyncGroup / Heartbeat / LeaveGroup), eager
 * rebalancing: before rejoining, the member gives up every partition (`onRevoke` drains and
 * commits), then it joins, the leader assigns, and `onAssign` starts work on the new share.
 *
 * One loop owns the state (member id, generation, assignment), so joins, heartbeats and leaving
 * never race each other. Heartbeats run on the cluster's "group" connection, independent of
 * record handlers: a slow handler never makes the member miss its session.
 *
 * Errors, as Kafka's coordinator means them:
 * - MEMBER_ID_REQUIRED (JoinGroup v4+): join again at once with the id the broker handed out.
 * - REBALANCE_IN_PROGRESS: revoke (committing finished work), then rejoin.
 * - UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION: the group moved on without us: our partitions are
 *   already someone else's, so they are *lost* (not committed), then we rejoin (with a new member
 *   id after UNKNOWN_MEMBER_ID).
 * - Coordinator moves and broken connections: the cluster finds the coordinator again; the loop
 *   backs off and retries.
 * - Configuration and authorization errors (and FENCED_INSTANCE_ID) are fatal: `onFatal`.
 */
import { noKafkaThere, type Cluster, type TopicPartition } from "../client/cluster.ts";
import { KafkaProtocolError, TributaryError } from "../errors.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS } from "../protocol/generated/index.ts";
import { Backoff } from "../transport/backoff.ts";
import type { Assignor, GroupMemberSubscription } from "./assignors.ts";
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "./consumer-protocol.ts";
import { Alarm } from "./alarm.ts";
import type { GroupEvents } from "./events.ts";

export interface MembershipOptions {
  cluster: Cluster;
  groupId: string;
  topics: readonly string[];
  assignors: readonly Assignor[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  groupInstanceId: string | null;
  /** How often the leader checks the subscribed topics' partition counts (a change triggers a rebalance). */
  metadataCheckMs: number;
  events: GroupEvents;
}

export interface MembershipHandlers {
  /** The partitions are no longer ours, and nobody else's yet: finish, commit, let go. */
  onRevoke(partitions: TopicPartition[], generationId: number): Promise<void>;
  /** The partitions were taken from us: stop without committing. */
  onLost(partitions: TopicPartition[], generationId: number, reason: string): Promise<void>;
  /** The new generation's share. */
  onAssign(partitions: TopicPartition[], generationId: number): Promise<void>;
  /** An error that membership cannot get past (bad configuration, authorization, fencing). */
  onFatal(error: TributaryError): void;
}

/**
 * What the group consumer needs of a membership protocol (classic here; KIP-848's
 * ConsumerGroupHeartbeat in consumer-membership.ts). The handlers are called from the
 * membership's own loop, one at a time: `onAssign` gets partitions *added* to this member's share,
 * `onRevoke`/`onLost` partitions taken away (an eager protocol takes everything each rebalance,
 * incremental ones only what moves).
 */
export interface Membership {
  readonly memberId: string;
  /** The classic generation, or the KIP-848 member epoch: what commits and acknowledgements are checked against. */
  readonly generationId: number;
  /** The partitions this member owns now. */
  readonly assignment: readonly TopicPartition[];
  start(): void;
  /** Asks for a rebalance (metadata changed, a stalled member must give its partitions back…). */
  requestRejoin(): void;
  /** Revokes everything (committing finished work through `onRevoke`), then leaves the group. */
  stop(): Promise<void>;
  /**
   * Leaves the group (revoking, as `stop` does) and rejoins once `until` settles: how a member
   * whose handler is stuck gets out of the group's way (`maxHandlerMs`) without stopping.
   */
  leaveUntil(until: Promise<unknown>): Promise<void>;
  /** True between joining and receiving the new assignment: commits then would be refused (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION). */
  readonly joining?: boolean;
  /**
   * KIP-848 only: the coordinator refused a commit made with member epoch `stale` (STALE_MEMBER_EPOCH:
   * it bumped the epoch in a heartbeat whose answer had not arrived yet). Heartbeats at once and
   * resolves true when a newer epoch arrived, false when none will (stopping, fenced, no answer).
   */
  refreshEpoch?(stale: number): Promise<boolean>;
}

const MEMBER_ID_REQUIRED = 79;
const REBALANCE_IN_PROGRESS = 27;
const UNKNOWN_MEMBER_ID = 25;
const ILLEGAL_GENERATION = 22;
const FENCED_INSTANCE_ID = 82;
/** Errors after which no retry can help. */
const FATAL = new Set([23, 24, 26, 29, 30, 58, 81, FENCED_INSTANCE_ID]);
/** Coordinator lookup errors: the cluster's retry finds the coordinator again. */
const COORDINATOR = new Set([14, 15, 16]);

export class ClassicMembership implements Membership {
  memberId = "";
  generationId = -1;
  leader = false;
  protocol = "";
  assignment: TopicPartition[] = [];
  joining = false;

  private readonly options: MembershipOptions;
  private readonly handlers: MembershipHandlers;
  private rejoin = true;
  private stopping = false;
  /** stop() was called (stopping may also be set by leaveUntil, which rejoins later). */
  private stopped = false;
  private leaving = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
  /** The leader's view of the subscribed topics' partition counts in this generation. */
  private assignedCounts = new Map<string, number>();
  private lastMetadataCheck = 0;
  /** What a heartbeat sent while a handler ran learned (membership lost, fenced), in which generation: handled by the loop next. */
  private learnedDuringHandler: { error: KafkaProtocolError; generationId: number; memberId: string } | undefined;

  constructor(options: MembershipOptions, handlers: MembershipHandlers) {
    this.options = options;
    this.handlers = handlers;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Asks for a rebalance (the next loop turn revokes and rejoins). */
  requestRejoin(): void {
    this.rejoin = true;
    this.alarm.ring();
  }

  /** Stops heartbeating and leaves the group (revoking first, so finished work is committed). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.endLoopAndLeave();
  }

  /** Ends the heartbeat loop, revokes everything (committing finished work), leaves the group. */
  private async endLoopAndLeave(): Promise<void> {
    this.stopping = true;
    this.alarm.ring();
    await this.loop;
    this.learnedDuringHandler = undefined; // about the membership being left
    if (this.assignment.length > 0) {
      const revoked = this.assignment;
      this.assignment = [];
      await this.handlers.onRevoke(revoked, this.generationId);
    }
    await this.leave();
  }

  async leaveUntil(until: Promise<unknown>): Promise<void> {
    if (this.leaving || this.stopping) return;
    this.leaving = true;
    try {
      await this.endLoopAndLeave();
      await until.catch(() => {});
      if (this.stopped) return;
      this.stopping = false;
      this.rejoin = true;
      this.loop = this.run();
    } finally {
      this.leaving = false;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const learned = this.takeLearned();
        if (learned) throw learned;
        if (this.rejoin) {
          await this.rebalance();
        } else {
          await this.sleep(this.options.heartbeatIntervalMs);
          if (this.stopping || this.rejoin) continue;
          await this.heartbeat();
          await this.checkMetadata();
        }
        this.backoff.reset();
      } catch (error) {
        if (this.stopping) break;
        if (await this.handleError(error)) break;
        await this.sleep(this.backoff.next());
      }
    }
  }

  /**
   * Cooperative (KIP-429) when every assignor offered is: then partitions are kept through the
   * rebalance, and only those the new assignment moves are revoked (followed by another rebalance
   * that hands them to their new owners). Otherwise eager: everything is revoked before joining.
   */
  private get cooperative(): boolean {
    return this.options.assignors.every((a) => a.protocol === "cooperative");
  }

  private async rebalance(): Promise<void> {
    const started = Date.now();
    const cooperative = this.cooperative;
    this.options.events.emit({ type: "rebalancing", generationId: this.generationId, keeping: cooperative ? this.assignment.length : 0 });
    if (!cooperative && this.assignment.length > 0) {
      const revoked = this.assignment;
      this.assignment = [];
      await this.heartbeatingDuring(() => this.handlers.onRevoke(revoked, this.generationId));
      // The member joins again now, whatever the heartbeats said about the old generation, unless it was fatal.
      const learned = this.takeLearned();
      if (learned && FATAL.has(learned.code)) throw learned;
    }
    if (this.stopping) return;
    const owned = this.assignment;
    await this.joinAndSync(owned);
    this.rejoin = false;
    this.options.events.emit({ type: "rebalance", generationId: this.generationId, durationMs: Date.now() - started });
    const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
    const now = new Set(this.assignment.map(key));
    const before = new Set(owned.map(key));
    const added = this.assignment.filter((tp) => !before.has(key(tp)));
    const revoked = owned.filter((tp) => !now.has(key(tp)));
    if (revoked.length > 0) {
      await this.heartbeatingDuring(() => this.handlers.onRevoke(revoked, this.generationId));
      this.rejoin = true; // so the revoked partitions reach their new owners
    }
    try {
      await this.heartbeatingDuring(() => this.handlers.onAssign(added, this.generationId));
    } catch (error) {
      // Could not start on the new share (committed offsets unreadable, say): give it back and rejoin.
      const failed = new Set(added.map(key));
      this.assignment = this.assignment.filter((tp) => !failed.has(key(tp)));
      this.rejoin = true;
      throw error;
    }
  }

  /** Joins with the partitions owned now (cooperative members keep them through the rebalance). */
  private async joinAndSync(owned: readonly TopicPartition[]): Promise<void> {
    this.joining = true;
    try {
      await this.joinAndSyncOnce(owned);
    } finally {
      this.joining = false;
    }
  }

  private async joinAndSyncOnce(owned: readonly TopicPartition[]): Promise<void> {
    const { cluster, groupId, assignors, topics } = this.options;
    const metadata = encodeSubscription({ topics: [...topics], ownedPartitions: [...owned], generationId: this.generationId });
    let join;
    for (;;) {
      join = await cluster.sendToCoordinator(groupId, APIS.JoinGroup, {
        groupId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: assignors.map((a) => ({ name: a.name, metadata })),
        reason: null,
      }, {
        // The coordinator holds JoinGroup until every member has joined (up to the rebalance timeout).
        timeoutMs: this.options.rebalanceTimeoutMs + 5_000,
        check: coordinatorCheck(groupId),
      });
      if (join.errorCode === MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        continue;
      }
      throwIfError(join.errorCode, groupId);
      break;
    }
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.protocol = join.protocolName ?? "";
    this.leader = join.leader === join.memberId;
    this.options.events.emit({ type: "joined", generationId: this.generationId, memberId: this.memberId, leader: this.leader, protocol: this.protocol });

    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (this.leader && join.skipAssignment) {
      // A static leader that restarted: the coordinator kept the assignment and skipped the
      // rebalance. Take today's partition counts as the baseline, or the first metadata check
      // would see "no partitions assigned" and force the rebalance static membership avoids.
      const meta = await cluster.metadataFor(topics, { refresh: true });
      this.assignedCounts = new Map(topics.map((topic) => [topic, meta.topics.get(topic)?.partitions.length ?? 0]));
      this.lastMetadataCheck = Date.now();
    }
    if (this.leader && !join.skipAssignment) {
      const assignor = assignors.find((a) => a.name === this.protocol);
      if (!assignor) throw new TributaryError(`the coordinator chose assignor ${JSON.stringify(this.protocol)}, which this member does not have`);
      const members: GroupMemberSubscription[] = join.members.map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription: decodeSubscription(m.metadata),
      }));
      const wanted = [...new Set(members.flatMap((m) => m.subscription.topics))];
      const meta = await cluster.metadataFor(wanted, { refresh: true });
      const counts = new Map<string, number>();
      for (const topic of wanted) {
        const info = meta.topics.get(topic);
        if (info && info.partitions.length > 0) counts.set(topic, info.partitions.length);
      }
      this.assignedCounts = counts;
      this.lastMetadataCheck = Date.now();
      const plan = assignor.assign(members, counts);
      assignments = members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment({ partitions: plan.get(m.memberId) ?? [] }) }));
    }

    const sync = await cluster.sendToCoordinator(groupId, APIS.SyncGroup, {
      groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.groupInstanceId,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: this.protocol,
      assignments,
    }, { timeoutMs: this.options.rebalanceTimeoutMs + 5_000, check: coordinatorCheck(groupId) });
    throwIfError(sync.errorCode, groupId);
    // Only what we subscribed to: a buggy or foreign leader must not make us read other topics.
    this.assignment = decodeAssignment(sync.assignment).partitions.filter((tp) => topics.includes(tp.topic));
  }

  /**
   * Runs a handler (draining revoked partitions, reading committed offsets, the application's
   * `{ assigned }`/`{ revoked }`) while heartbeating on the side, as Java's heartbeat thread does
   * (KIP-62): a handler slower than the session timeout does not cost the membership. What the
   * heartbeats learn waits for the handler: a rebalance sets `rejoin`; a lost membership or a
   * fatal error is kept for the loop, which handles it next.
   */
  private async heartbeatingDuring<T>(handler: () => Promise<T>): Promise<T> {
    if (this.memberId === "" || this.generationId < 0) return handler();
    const alarm = new Alarm();
    let settled = false;
    const side = (async () => {
      while (!settled) {
        await alarm.sleep(this.options.heartbeatIntervalMs);
        if (settled) return;
        try {
          await this.heartbeat();
        } catch (error) {
          if (!(error instanceof KafkaProtocolError)) continue; // a broken connection: the next beat tries again
          if (error.code === REBALANCE_IN_PROGRESS) this.rejoin = true;
          else if (error.code === UNKNOWN_MEMBER_ID || error.code === ILLEGAL_GENERATION || FATAL.has(error.code)) {
            this.learnedDuringHandler ??= { error, generationId: this.generationId, memberId: this.memberId };
            return;
          }
          // Otherwise (a moved coordinator, a passing broker error): the next beat tries again.
        }
      }
    })();
    try {
      return await handler();
    } finally {
      settled = true;
      alarm.ring();
      await side;
    }
  }

  /** The error side heartbeats learned, if it is about the generation and member id still current. */
  private takeLearned(): KafkaProtocolError | undefined {
    const learned = this.learnedDuringHandler;
    this.learnedDuringHandler = undefined;
    return learned && learned.generationId === this.generationId && learned.memberId === this.memberId ? learned.error : undefined;
  }

  private async heartbeat(): Promise<void> {
    const { cluster, groupId } = this.options;
    const answer = await cluster.sendToCoordinator(groupId, APIS.Heartbeat, {
      groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId,
    }, { timeoutMs: Math.max(this.options.heartbeatIntervalMs, 5_000), retry: false, check: coordinatorCheck(groupId) });
    throwIfError(answer.errorCode, groupId);
  }

  /** The leader notices new partitions (or topics appearing) and starts a rebalance to hand them out. */
  private async checkMetadata(): Promise<void> {
    if (!this.leader || Date.now() - this.lastMetadataCheck < this.options.metadataCheckMs) return;
    this.lastMetadataCheck = Date.now();
    const meta = await this.options.cluster.metadataFor(this.options.topics, { refresh: true });
    for (const topic of this.options.topics) {
      const count = meta.topics.get(topic)?.partitions.length ?? 0;
      if (count !== (this.assignedCounts.get(topic) ?? 0)) {
        this.rejoin = true;
        return;
      }
    }
  }

  /** Decides what an error means; true when the loop must end. */
  private async handleError(error: unknown): Promise<boolean> {
    // The address is not a Kafka broker (an HTTP server, garbage), or no broker was ever reached
    // there within the retry deadline: rejoining cannot help.
    if (noKafkaThere(this.options.cluster, error)) {
      this.handlers.onFatal(error);
      return true;
    }
    if (error instanceof KafkaProtocolError) {
      if (FATAL.has(error.code)) {
        this.handlers.onFatal(error);
        return true;
      }
      if (error.code === REBALANCE_IN_PROGRESS) {
        this.rejoin = true;
        this.backoff.reset();
        return false;
      }
      if (error.code === UNKNOWN_MEMBER_ID || error.code === ILLEGAL_GENERATION) {
        const lost = this.assignment;
        this.assignment = [];
        if (error.code === UNKNOWN_MEMBER_ID) this.memberId = "";
        if (lost.length > 0) await this.handlers.onLost(lost, this.generationId, error.name);
        this.generationId = -1;
        this.rejoin = true;
        return false;
      }
    }
    this.options.events.emit({ type: "error", error });
    return false;
  }

  private async leave(): Promise<void> {
    const { cluster, groupId, groupInstanceId } = this.options;
    // A static member keeps its place across restarts: it does not leave, its session expires.
    if (this.memberId === "" || groupInstanceId !== null) return;
    try {
      await cluster.sendToCoordinator(groupId, APIS.LeaveGroup, (version) => (version >= 3
        ? { groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: "the consumer is stopping" }] }
        : { groupId, memberId: this.memberId }), { timeoutMs: 5_000, retry: false });
      this.options.events.emit({ type: "left", memberId: this.memberId });
    } catch (error) {
      // The session times out instead; nothing is lost, the group just rebalances later.
      this.options.events.emit({ type: "error", error });
    }
    this.memberId = "";
    this.generationId = -1;
  }

  private sleep(ms: number): Promise<void> {
    return this.alarm.sleep(ms);
  }

}

/** Retriable coordinator errors go back to the cluster (it finds the coordinator again and retries). */
export function coordinatorCheck(groupId: string) {
  return (response: { errorCode: number }) => (COORDINATOR.has(response.errorCode) ? kafkaError(response.errorCode, { message: `group ${groupId}` }) : null);
}

function throwIfError(code: number, groupId: string): void {
  const error = kafkaError(code, { message: `group ${groupId}` });
  if (error) throw error;
}
