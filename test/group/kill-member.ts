/**
 * A group member in a process of its own, for resilience.test.ts to kill (SIGKILL), freeze
 * (SIGSTOP/SIGCONT) or restart: `node kill-member.ts <broker> <topic> <groupId> <options as JSON>`
 * (merged into the consumer's options). It never exits by itself.
 *
 * Its handler is slow (a few milliseconds per record) and reports, one line each on stdout
 * (written synchronously: stdout is a pipe), what the test needs to know what happened before
 * a signal:
 *   A <generation> <p,p,…>          partitions assigned
 *   V <generation> <p,p,…>          partitions revoked (L: lost)
 *   B <generation> <p> <first> <last>  a handler call starts
 *   H <p> <offset>                  a record was handled (the call goes on with the next one)
 *   C <generation> <p>=<offset>,…   a commit succeeded
 *   E <text>                        an error event
 *   J <generation> <leader|follower> <protocol>  joined a generation
 */
import { writeSync } from "node:fs";
import { createGroupConsumer, type GroupConsumerOptions } from "../../src/entry/node.ts";

const [broker, topic, groupId, options] = process.argv.slice(2) as [string, string, string, string];
const out = (line: string) => writeSync(1, `${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const list = (partitions: { partition: number }[]) => partitions.map((tp) => tp.partition).join(",") || "-";

const consumer = createGroupConsumer({
  brokers: [broker], clientId: "tributary-kill-member", groupId, topics: [topic], beginOffset: "earliest",
  maxWaitMs: 100, rebalanceTimeoutMs: 15_000, heartbeatIntervalMs: 300, commitIntervalMs: 300, maxBatchSize: 25,
  ...JSON.parse(options) as Partial<GroupConsumerOptions>,
});
consumer.events.on((e) => {
  if (e.type === "joined") out(`J ${e.generationId} ${e.leader ? "leader" : "follower"} ${e.protocol || "-"}`);
  else if (e.type === "commit" && !e.error) out(`C ${e.generationId} ${e.offsets.map((o) => `${o.partition}=${o.offset}`).join(",")}`);
  else if (e.type === "error" || (e.type === "commit" && e.error)) out(`E ${String("error" in e ? e.error : "")}`.replace(/\n/g, " "));
});
await consumer.run({
  handler: async (n) => {
    if ("assigned" in n) out(`A ${n.generationId} ${list(n.assigned)}`);
    else if ("revoked" in n) out(`V ${n.generationId} ${list(n.revoked)}`);
    else if ("lost" in n) out(`L ${n.generationId} ${list(n.lost)}`);
    else if ("records" in n) {
      out(`B ${n.generationId} ${n.partition} ${n.records[0]!.offset} ${n.records.at(-1)!.offset}`);
      for (const record of n.records) {
        await sleep(4);
        out(`H ${n.partition} ${record.offset}`);
      }
    }
  },
});
