/**
 * `tributary consume --group G`: consumes a topic as a member of consumer group G. Offsets are
 * committed for exactly the records written to stdout (manual acknowledgements), so a run that
 * stops after `--count N` records — or on Ctrl-C — resumes at the first record it did not print.
 */
import { createGroupConsumer } from "../entry/node.ts";
import type { Progress } from "./progress.ts";
import { UsageError } from "./args.ts";
import { IdleTimer, onInterrupt, printRecord } from "./record-output.ts";

export interface GroupConsumeOptions {
  connection: { brokers: string[]; clientId: string; connectTimeoutMs: number; requestTimeoutMs: number };
  topic: string;
  groupId: string;
  from: "earliest" | "latest";
  count: number | undefined;
  /** Stop once no record arrived for this long (the wait for the first assignment included). */
  idleMs: number | undefined;
  binary: boolean;
  progress: Progress;
}

export async function consumeAsGroupMember(options: GroupConsumeOptions): Promise<void> {
  const { topic, count, binary, progress } = options;
  const consumer = createGroupConsumer({
    ...options.connection,
    groupId: options.groupId,
    topics: [topic],
    beginOffset: options.from,
    ack: "manual",
    commitIntervalMs: 1_000,
    drainMs: 2_000,
  });
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const removeInterruptHandlers = onInterrupt(finish);
  let written = 0;
  const idle = new IdleTimer(options.idleMs, finish);
  try {
    const meta = await consumer.fetcher.cluster.metadataFor([topic]);
    if (!meta.topics.has(topic)) throw new UsageError(`topic "${topic}" does not exist`);
    if (count === 0) return;
    idle.restart();
    const running = consumer.run({
      async handler(n) {
        if (!("records" in n)) return;
        for (const record of n.records) {
          if (count !== undefined && written >= count) return finish(); // not printed, so not acknowledged
          // Counted before printing: the partitions' handlers interleave at every await.
          written++;
          await printRecord({ ...record, topic: n.topic, partition: n.partition }, binary);
          consumer.ack({ topic: n.topic, partition: n.partition, generationId: n.generationId, offset: record.offset });
          progress.add(1);
          idle.restart();
          if (count !== undefined && written >= count) return finish();
        }
      },
    });
    // A fatal group error rejects `running`; otherwise we stop when done (or interrupted).
    await Promise.race([finished, running]);
    await consumer.stop();
    await running;
  } finally {
    idle.cancel();
    removeInterruptHandlers();
    await consumer.stop().catch(() => {});
  }
}
