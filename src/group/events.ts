/**
 * Everything an operator watches on a group consumer, as one stream of plain objects with a
 * stable shape: `type` says what happened, `at` when (Date.now()). The admin surface and the
 * metrics read this stream; logs and tests subscribe to it with `consumer.events.on(listener)`.
 */
import type { TopicPartition } from "../client/cluster.ts";

export type GroupEvent =
  | { type: "joined"; at: number; generationId: number; memberId: string; leader: boolean; protocol: string }
  | { type: "assigned"; at: number; generationId: number; partitions: TopicPartition[] }
  | { type: "revoked"; at: number; generationId: number; partitions: TopicPartition[] }
  | { type: "lost"; at: number; generationId: number; partitions: TopicPartition[]; reason: string }
  | { type: "rebalancing"; at: number; generationId: number; keeping: number }
  | { type: "rebalance"; at: number; generationId: number; durationMs: number }
  | { type: "commit"; at: number; generationId: number; offsets: (TopicPartition & { offset: number })[]; error?: Error }
  | { type: "handler-start"; at: number; topic: string; partition: number; records: number }
  | { type: "handler-stop"; at: number; topic: string; partition: number; records: number; durationMs: number }
  | { type: "handler-error"; at: number; topic: string; partition: number; records: number; durationMs: number; attempt: number; error: unknown; retryInMs: number }
  | { type: "stale-ack"; at: number; topic: string; partition: number; offset: number; generationId: number; currentGenerationId: number | null }
  | { type: "lag"; at: number; topic: string; partition: number; lag: number }
  | { type: "skipped"; at: number; topic: string; partition: number; offsets: number[]; error: unknown }
  | { type: "dead-lettered"; at: number; topic: string; partition: number; offsets: number[]; deadLetterTopic: string; error: unknown }
  | { type: "partition-stopped"; at: number; topic: string; partition: number; committable: number }
  /** A partition's call ran past `maxHandlerMs` (`call`: a records call, or its `{ caughtUp }` notification); the member leaves until it returns. */
  | { type: "stall"; at: number; topic: string; partition: number; durationMs: number; call: "records" | "caughtUp" }
  /**
   * An `{ assigned }`, `{ revoked }` or `{ lost }` notification ran past `maxHandlerMs`: the
   * membership goes on without waiting for it (the call keeps running; a later failure is an "error").
   */
  | { type: "notification-stall"; at: number; notification: "assigned" | "revoked" | "lost"; partitions: TopicPartition[]; durationMs: number }
  /** A partition worker's own loop failed; it restarts from the last acknowledged offset after `restartInMs` (null: it was stopping). */
  | { type: "worker-crash"; at: number; topic: string; partition: number; error: unknown; crashes: number; restartInMs: number | null }
  | { type: "error"; at: number; error: unknown; topic?: string; partition?: number }
  | { type: "left"; at: number; memberId: string };

/** `GroupEvent` without `at`, as emitters build it. */
export type GroupEventInput = GroupEvent extends infer E ? (E extends GroupEvent ? Omit<E, "at"> : never) : never;

export type GroupEventListener = (event: GroupEvent) => void;

export class GroupEvents {
  private readonly listeners = new Set<GroupEventListener>();

  /** Adds a listener; returns a function that removes it. */
  on(listener: GroupEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GroupEventInput): void {
    const stamped = { ...event, at: Date.now() } as GroupEvent;
    for (const listener of this.listeners) {
      try {
        listener(stamped);
      } catch {
        // A listener's bug must not break the consumer loop that emitted the event.
      }
    }
  }
}
