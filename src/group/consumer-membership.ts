/**
 * Membership of a consumer group with the next-generation protocol (KIP-848, `groupProtocol:
 * "consumer"`): one RPC, ConsumerGroupHeartbeat, and the assignment computed by the coordinator
 * (its "server-side assignor": `remoteAssignor`, or the broker's default, "uniform").
 *
 * The member:
 * - joins with epoch 0 and a member id of its own (ConsumerGroupHeartbeat v1+ requires the client
 *   to generate it — KIP-1082; with v0 the coordinator hands one out), kept for the member's life;
 * - heartbeats every `heartbeatIntervalMs` *the coordinator returns* (`options.heartbeatIntervalMs`
 *   only until the first answer). A heartbeat carries the full state (subscribed topics, rebalance
 *   timeout, server assignor, owned partitions) when joining, after an error, and the owned
 *   partitions whenever they changed; otherwise it is the minimal heartbeat (id + epoch);
 * - reconciles towards the assignment the coordinator sends (topic *ids*, mapped to names through
 *   metadata, refreshed when an id is unknown): partitions owned but no longer assigned are revoked
 *   first (`onRevoke` drains and commits them with the current epoch — the coordinator does not
 *   bump a member's epoch while it owes revocations, so that commit is not stale), then the newly
 *   assigned ones are started (`onAssign`, only when there are any); after each step the new owned
 *   set is acknowledged by an immediate heartbeat. One reconciliation at a time; heartbeats go on
 *   while a handler drains, so a slow drain never costs the member its session;
 * - leaves with epoch -1 (dynamic member) or -2 (static member: the coordinator keeps its
 *   assignment for the session timeout, for the restarted instance to take over). `leaveUntil`
 *   (a stuck handler) and `requestRejoin` revoke everything, leave with -1 and join again with
 *   epoch 0 — the coordinator assigns by itself, there is no client-triggered rebalance.
 *
 * Errors, as Kafka's coordinator means them:
 * - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: the group moved on without us (session or rebalance
 *   timeout, or our epoch is not the coordinator's): every partition is *lost* (`onLost`, not
 *   committed) and the member rejoins with epoch 0 and the same member id. When that rejoin is
 *   itself fenced (the coordinator still has our id registered, with a newer epoch), the member
 *   leaves with epoch -1 first, then joins again.
 * - Coordinator moves and broken connections: the cluster forgets the coordinator, the loop backs
 *   off and heartbeats again with the full state.
 * - UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_ASSIGNOR, INVALID_REQUEST,
 *   authorization, a group that is a classic group (INCONSISTENT_GROUP_PROTOCOL), a broker without
 *   the API: fatal (`onFatal`).
 *
 * STALE_MEMBER_EPOCH on OffsetCommit (the coordinator bumped our epoch and the heartbeat answer
 * saying so had not arrived yet): the group consumer asks `refreshEpoch`, which heartbeats at once
 * (or waits for the heartbeat in flight) and reports whether a newer epoch arrived; the commit is
 * then made again with it. The coordinator bumps a member's epoch only while handling that
 * member's heartbeat, so a commit can only be stale while a heartbeat is in flight.
 */
import type { Cluster, TopicPartition } from "../client/cluster.ts";
import { noKafkaThere, tpKey } from "../client/cluster.ts";
import { KafkaProtocolError, TributaryError, UnsupportedVersionError } from "../errors.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS } from "../protocol/generated/index.ts";
import { Backoff } from "../transport/backoff.ts";
import { Alarm } from "./alarm.ts";
import { coordinatorCheck, type Membership, type MembershipHandlers, type MembershipOptions } from "./membership.ts";

export interface ConsumerMembershipOptions extends MembershipOptions {
  /** The coordinator's assignor ("uniform", "range"); null: the broker's default (its `group.consumer.assignors`, first entry). */
  remoteAssignor?: string | null;
}

const UNKNOWN_MEMBER_ID = 25;
const FENCED_MEMBER_EPOCH = 110;
/** Errors after which no retry can help. */
const FATAL = new Set([
  23, // INCONSISTENT_GROUP_PROTOCOL: the group is a classic group with members
  24, // INVALID_GROUP_ID
  29, // TOPIC_AUTHORIZATION_FAILED
  30, // GROUP_AUTHORIZATION_FAILED
  31, // CLUSTER_AUTHORIZATION_FAILED
  35, // UNSUPPORTED_VERSION
  42, // INVALID_REQUEST
  58, // SASL_AUTHENTICATION_FAILED
  81, // GROUP_MAX_SIZE_REACHED
  111, // UNRELEASED_INSTANCE_ID
  112, // UNSUPPORTED_ASSIGNOR
]);
/** Coordinator lookup errors: the cluster forgets the coordinator and the loop tries again. */
/** A partition the coordinator assigned, by topic id (what the protocol speaks) and name (what handlers get). */
interface OwnedPartition extends TopicPartition {
  topicId: string;
}

/** The coordinator's latest word on this member's partitions. */
interface Target {
  byId: Map<string, number[]>;
  epoch: number;
}

export class ConsumerMembership implements Membership {
  /** "" until the first heartbeat (v1+: generated by this member then; v0: the coordinator's). */
  memberId = "";
  /** The member epoch: 0 while (re)joining, then what the coordinator says. */
  generationId = 0;

  private readonly options: ConsumerMembershipOptions;
  private readonly handlers: MembershipHandlers;
  private readonly clientMemberId = randomMemberId();
  private owned: OwnedPartition[] = [];
  private target: Target | undefined;
  /** The last target the owned partitions were brought to. */
  private reconciled: Target | undefined;
  private stopping = false;
  /** stop() was called (stopping is also set while leaveUntil is out of the group). */
  private stopped = false;
  private leavingUntil = false;
  private fatal = false;
  /** Send subscription, rebalance timeout, assignor and owned partitions in the next heartbeat. */
  private sendFull = true;
  /** The owned partitions the coordinator last heard of (a key), null before it heard any. */
  private ownedSent: string | null = null;
  private heartbeatNow = false;
  private intervalMs: number;
  private joinedAnnounced = false;
  /** Bumped when the member is fenced: a reconciliation of an older session stops. */
  private session = 0;
  private rejoinRequested = false;
  private loop: Promise<void> | undefined;
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  private readonly alarm = new Alarm();
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
  private readonly reconcileBackoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
  private reconcileStarted = 0;
  /** `refreshEpoch` calls waiting for the next heartbeat's outcome. */
  private epochWaiters: Array<() => void> = [];
  /** The heartbeat loop is running. */
  private heartbeating = false;
  /** The loop is giving everything back (`giveBackAndLeave`): no heartbeat goes out meanwhile. */
  private loopBusy = false;

  constructor(options: ConsumerMembershipOptions, handlers: MembershipHandlers) {
    this.options = options;
    this.handlers = handlers;
    this.intervalMs = options.heartbeatIntervalMs;
  }

  get assignment(): readonly TopicPartition[] {
    return this.owned.map(({ topic, partition }) => ({ topic, partition }));
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Gives every partition back and joins again: the owned partitions are revoked (committing
   * finished work), the member leaves (epoch -1) and rejoins with epoch 0. The coordinator assigns
   * on its own; this is for a member that must let go of its share.
   */
  requestRejoin(): void {
    this.rejoinRequested = true;
    this.wake();
  }

  async refreshEpoch(stale: number): Promise<boolean> {
    const session = this.session;
    // Two heartbeats' worth of time: the one in flight (its answer may carry the new epoch) and one more.
    const deadline = Date.now() + 2 * Math.max(this.intervalMs * 2, 5_000);
    // Only the heartbeat loop brings a newer epoch: not once it has ended (stopping, a fatal error),
    // nor while it is busy giving everything back, nor after a fence (a new session: the
    // partitions were lost, not committed).
    const mayChange = () => session === this.session && this.heartbeating && !this.loopBusy && !this.stopping;
    if (this.generationId === stale && mayChange()) this.ackNow();
    while (this.generationId === stale && mayChange() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.epochWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.generationId !== stale && this.generationId > 0 && session === this.session && !this.stopping;
  }

  /** Wakes `refreshEpoch` calls: a heartbeat answered (or failed), or the loop ended. */
  private heartbeatSettled(): void {
    const waiters = this.epochWaiters;
    this.epochWaiters = [];
    for (const wake of waiters) wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.endLoopAndLeave(this.options.groupInstanceId !== null ? -2 : -1);
  }

  /**
   * Leaves the group (revoking, as `stop` does; epoch -1 even for a static member, so that the
   * group moves its partitions on) and rejoins with epoch 0 once `until` settles.
   */
  async leaveUntil(until: Promise<unknown>): Promise<void> {
    if (this.leavingUntil || this.stopping) return;
    this.leavingUntil = true;
    try {
      await this.endLoopAndLeave(-1);
      await until.catch(() => {});
      if (this.stopped || this.fatal) return;
      this.stopping = false;
      this.loop = this.run();
    } finally {
      this.leavingUntil = false;
    }
  }

  /** Ends the heartbeat loop, revokes everything (committing finished work), leaves the group. */
  private async endLoopAndLeave(epoch: -1 | -2): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    await this.reconciling;
    if (this.owned.length > 0 && !this.fatal) {
      const revoked = this.owned;
      this.owned = [];
      await this.handlers.onRevoke(plain(revoked), this.generationId);
    }
    await this.leave(epoch);
    this.resetToJoin();
  }

  /** Forgets the session's state: the next heartbeat joins with epoch 0 (same member id), sending everything. */
  private resetToJoin(): void {
    this.session++;
    this.owned = [];
    this.target = undefined;
    this.reconciled = undefined;
    this.ownedSent = null;
    this.generationId = 0;
    this.sendFull = true;
    this.joinedAnnounced = false;
  }

  // ---------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    this.heartbeating = true;
    try {
      while (!this.stopping) {
        try {
          if (this.rejoinRequested) await this.giveBackAndLeave();
          await this.heartbeat();
          this.heartbeatSettled();
          this.backoff.reset();
          if (this.stopping) break;
          if (!this.heartbeatNow) await this.sleep(this.intervalMs);
          this.heartbeatNow = false;
        } catch (error) {
          if (this.stopping) break;
          this.sendFull = true;
          const fatal = await this.handleError(error);
          this.heartbeatSettled();
          if (fatal) break;
          if (!this.heartbeatNow) await this.sleep(this.backoff.next());
          this.heartbeatNow = false;
        }
      }
    } finally {
      this.heartbeating = false;
      this.heartbeatSettled();
    }
  }

  private async heartbeat(): Promise<void> {
    const { cluster, groupId, topics } = this.options;
    const epoch = this.generationId;
    const full = this.sendFull || epoch === 0;
    const owned = this.owned;
    const ownedKey = ownedKeyOf(owned);
    const sendOwned = full || ownedKey !== this.ownedSent;
    let usedId = "";
    const answer = await cluster.sendToCoordinator(groupId, APIS.ConsumerGroupHeartbeat, (version) => {
      usedId = this.memberId !== "" ? this.memberId : version >= 1 ? this.clientMemberId : "";
      return {
        groupId,
        memberId: usedId,
        memberEpoch: epoch,
        instanceId: this.options.groupInstanceId,
        rackId: null,
        rebalanceTimeoutMs: full ? this.options.rebalanceTimeoutMs : -1,
        subscribedTopicNames: full ? [...topics] : null,
        serverAssignor: full ? this.options.remoteAssignor ?? null : null,
        topicPartitions: sendOwned ? byTopicId(owned) : null,
      };
    }, { timeoutMs: Math.max(this.intervalMs * 2, 5_000), retry: false, check: coordinatorCheck(groupId) });
    if (answer.errorCode !== 0) {
      throw kafkaError(answer.errorCode, { message: `group ${groupId}: ${answer.errorMessage ?? ""}` })!;
    }
    this.memberId = answer.memberId ?? usedId;
    this.generationId = answer.memberEpoch;
    if (answer.heartbeatIntervalMs > 0) this.intervalMs = answer.heartbeatIntervalMs;
    this.sendFull = false;
    if (sendOwned) this.ownedSent = ownedKey;
    if (!this.joinedAnnounced) {
      this.joinedAnnounced = true;
      this.options.events.emit({
        type: "joined", generationId: this.generationId, memberId: this.memberId, leader: false,
        protocol: this.options.remoteAssignor ?? "",
      });
    }
    if (answer.assignment) {
      const byId = new Map<string, number[]>();
      for (const t of answer.assignment.topicPartitions) byId.set(t.topicId, [...(byId.get(t.topicId) ?? []), ...t.partitions]);
      this.target = { byId, epoch: answer.memberEpoch };
    }
    if (this.target && !this.matches(this.target)) this.startReconcile();
    // The coordinator learns of an owned set that changed while this heartbeat was in flight at once.
    if (ownedKeyOf(this.owned) !== this.ownedSent) this.heartbeatNow = true;
  }

  /** True when `target` was reconciled completely (every topic id known). */
  private matches(target: Target): boolean {
    return target === this.reconciled;
  }

  private startReconcile(): void {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    const session = this.session;
    this.reconciling = this.reconcile(session).finally(() => {
      this.reconciling = undefined;
    });
  }

  /** Moves the owned partitions towards the latest target: revoke first, then assign; acknowledges each step. */
  private async reconcile(session: number): Promise<void> {
    this.reconcileStarted = Date.now();
    do {
      this.reconcileAgain = false;
      const target = this.target;
      if (!target || this.stopping || session !== this.session) return;
      try {
        const idNames = await this.topicNames([...target.byId.keys()]);
        if (this.stopping || session !== this.session) return;
        const wanted: OwnedPartition[] = [];
        let unknownIds = false;
        for (const [topicId, partitions] of target.byId) {
          const topic = idNames.get(topicId);
          // An id metadata does not know yet is taken up on the next pass.
          if (topic === undefined) unknownIds = true;
          // Only what we subscribed to (a coordinator bug must not make us read other topics).
          if (topic === undefined || !this.options.topics.includes(topic)) continue;
          for (const partition of [...new Set(partitions)].sort((a, b) => a - b)) wanted.push({ topicId, topic, partition });
        }
        const wantedKeys = new Set(wanted.map(tpKey));
        const ownedKeys = new Set(this.owned.map(tpKey));
        const revoked = this.owned.filter((p) => !wantedKeys.has(tpKey(p)));
        const added = wanted.filter((p) => !ownedKeys.has(tpKey(p)));
        if (revoked.length > 0 || added.length > 0) {
          this.options.events.emit({ type: "rebalancing", generationId: this.generationId, keeping: this.owned.length - revoked.length });
        }
        if (revoked.length > 0) {
          await this.handlers.onRevoke(plain(revoked), this.generationId);
          const gone = new Set(revoked.map(tpKey));
          this.owned = this.owned.filter((p) => !gone.has(tpKey(p)));
          if (session !== this.session) return;
          this.ackNow();
        }
        if (added.length > 0 && !this.stopping) {
          await this.handlers.onAssign(plain(added), this.generationId);
          this.owned = [...this.owned, ...added];
          if (session !== this.session) return;
          this.ackNow();
        }
        if (revoked.length > 0 || added.length > 0) {
          this.options.events.emit({ type: "rebalance", generationId: this.generationId, durationMs: Date.now() - this.reconcileStarted });
          this.reconcileStarted = Date.now();
        }
        // Ids metadata did not know: look again after a pause.
        if (!unknownIds) {
          this.reconciled = target;
          this.reconcileBackoff.reset();
        } else if (!this.reconcileAgain) {
          await this.sleepPlain(this.reconcileBackoff.next());
          this.reconcileAgain = this.target === target && !this.stopping && session === this.session;
        }
      } catch (error) {
        // A handler failed (committed offsets unreadable, say): report, wait, try again.
        this.options.events.emit({ type: "error", error });
        await this.sleepPlain(this.reconcileBackoff.next());
        this.reconcileAgain = true;
      }
    } while (this.reconcileAgain);
  }

  /** Topic id → name for `ids`, refreshing metadata when one is unknown. */
  private async topicNames(ids: string[]): Promise<Map<string, string>> {
    const { cluster, topics } = this.options;
    const lookup = (meta: Awaited<ReturnType<Cluster["metadataFor"]>>) => {
      const out = new Map<string, string>();
      for (const info of meta.topics.values()) out.set(info.topicId, info.name);
      return out;
    };
    let names = lookup(await cluster.metadataFor(topics));
    if (ids.some((id) => !names.has(id))) names = lookup(await cluster.metadataFor(topics, { refresh: true }));
    return names;
  }

  private ackNow(): void {
    this.heartbeatNow = true;
    this.wake();
  }

  /** Decides what an error means; true when the loop must end. */
  private async handleError(error: unknown): Promise<boolean> {
    if (error instanceof UnsupportedVersionError || noKafkaThere(this.options.cluster, error)) {
      this.fail(error);
      return true;
    }
    if (error instanceof KafkaProtocolError) {
      if (FATAL.has(error.code)) {
        this.fail(error);
        return true;
      }
      if (error.code === FENCED_MEMBER_EPOCH || error.code === UNKNOWN_MEMBER_ID) {
        const rejoinFenced = this.generationId === 0 && error.code === FENCED_MEMBER_EPOCH;
        await this.fenced(error);
        // Our id is still registered with a newer epoch (a lost answer, another process with our
        // id): a rejoin with epoch 0 cannot pass until that registration goes, so leave first.
        if (rejoinFenced && this.memberId !== "") await this.sendLeave(-1).catch((e: unknown) => this.options.events.emit({ type: "error", error: e }));
        this.heartbeatNow = !rejoinFenced;
        return false;
      }
    }
    this.options.events.emit({ type: "error", error });
    return false;
  }

  /** The group moved on without us: everything is lost (not committed); rejoin with epoch 0. */
  private async fenced(error: KafkaProtocolError): Promise<void> {
    this.session++;
    this.heartbeatSettled(); // a reconciliation waiting in refreshEpoch gives up, so it can end
    await this.reconciling;
    const lost = this.owned;
    const epoch = this.generationId;
    this.resetToJoin();
    if (lost.length > 0) await this.handlers.onLost(plain(lost), epoch, error.errorName);
  }

  private fail(error: TributaryError): void {
    this.fatal = true;
    this.handlers.onFatal(error);
  }

  /** requestRejoin: revoke everything (committing), leave, and let the loop join again with epoch 0. */
  private async giveBackAndLeave(): Promise<void> {
    this.rejoinRequested = false;
    this.loopBusy = true;
    try {
      this.session++;
      this.heartbeatSettled();
      await this.reconciling;
      if (this.owned.length > 0) {
        const revoked = this.owned;
        this.owned = [];
        await this.handlers.onRevoke(plain(revoked), this.generationId);
      }
      if (this.generationId > 0) await this.sendLeave(-1);
      this.resetToJoin();
    } finally {
      this.loopBusy = false;
    }
  }

  /** -1: a dynamic member leaves. -2: a static member says it will be back (the coordinator keeps its assignment for the session timeout). */
  private async leave(epoch: -1 | -2): Promise<void> {
    if (this.memberId === "" || this.generationId <= 0 || this.fatal) return;
    try {
      await this.sendLeave(epoch);
      this.options.events.emit({ type: "left", memberId: this.memberId });
    } catch (error) {
      // The session times out instead; nothing is lost, the group just rebalances later.
      this.options.events.emit({ type: "error", error });
    }
  }

  private async sendLeave(epoch: -1 | -2): Promise<void> {
    const { cluster, groupId } = this.options;
    const answer = await cluster.sendToCoordinator(groupId, APIS.ConsumerGroupHeartbeat, {
      groupId, memberId: this.memberId, memberEpoch: epoch, instanceId: this.options.groupInstanceId,
    }, { timeoutMs: 5_000, retry: false, check: coordinatorCheck(groupId) });
    // UNKNOWN_MEMBER_ID: gone already.
    if (answer.errorCode !== 0 && answer.errorCode !== UNKNOWN_MEMBER_ID) throw kafkaError(answer.errorCode, { message: `group ${groupId}: ${answer.errorMessage ?? ""}` })!;
  }

  private wake(): void {
    this.alarm.ring();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping || this.rejoinRequested) return Promise.resolve();
    return this.alarm.sleep(ms);
  }


  private sleepPlain(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

function plain(partitions: readonly OwnedPartition[]): TopicPartition[] {
  return partitions.map(({ topic, partition }) => ({ topic, partition }));
}

function byTopicId(partitions: readonly OwnedPartition[]): { topicId: string; partitions: number[] }[] {
  const out = new Map<string, number[]>();
  for (const p of partitions) out.set(p.topicId, [...(out.get(p.topicId) ?? []), p.partition]);
  return [...out].map(([topicId, list]) => ({ topicId, partitions: list.sort((a, b) => a - b) }));
}

function ownedKeyOf(partitions: readonly OwnedPartition[]): string {
  return partitions.map((p) => `${p.topicId}:${p.partition}`).sort().join(",");
}

/** A member id of our own (ConsumerGroupHeartbeat v1+): a random (version 4) UUID. */
function randomMemberId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
