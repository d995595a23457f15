#!/usr/bin/env node
/**
 * `tributary` — the command-line client (the package's bin):
 *
 *   tributary produce --brokers H:P --topic T [--compression C] [--acks all|1|0] [--binary]
 *   tributary consume --brokers H:P --topic T [--group G] [--from earliest|latest] [--count N] [--idle-ms N] [--binary]
 *   tributary topics create --brokers H:P --topic T [--partitions N] [--replication-factor R] [--config k=v]…
 *   tributary topics list|delete --brokers H:P [--topic T]
 *   tributary offsets --brokers H:P --topic T [--group G]
 *
 * Records are JSON lines (src/cli/json-lines.ts). Progress and rates go to stderr, records to
 * stdout; an error is one line on stderr and a non-zero exit (2 for a usage error).
 */
import { createInterface } from "node:readline";
import { createAdmin, createConsumer, createProducer, type Acks } from "../entry/node.ts";
import { COMPRESSION_CODECS } from "../records/types.ts";
import { Flags, parseArgs, UsageError } from "./args.ts";
import { consumeAsGroupMember } from "./consume-group.ts";
import { IdleTimer, onInterrupt, printRecord } from "./record-output.ts";
import { parseRecordLine, RecordLineError } from "./json-lines.ts";
import { Progress } from "./progress.ts";

const USAGE = `usage:
  tributary produce --brokers H:P --topic T [--compression none|gzip|snappy|lz4|zstd] [--acks all|1|0] [--binary]
      reads JSON lines {"key":..,"value":..,"headers":{..},"partition"?:n,"timestamp"?:ms} from stdin
  tributary consume --brokers H:P --topic T [--group G] [--from earliest|latest] [--count N] [--idle-ms N] [--binary]
      with --group: a member of consumer group G; commits exactly what it printed
      writes JSON lines {"topic","partition","offset","timestamp","key","value","headers"} to stdout
      --idle-ms N: stop after N ms without a new record (like the Java console consumer's --timeout-ms)
  tributary topics create --brokers H:P --topic T [--partitions N] [--replication-factor R] [--config key=value]...
  tributary topics list --brokers H:P
  tributary topics delete --brokers H:P --topic T
  tributary offsets --brokers H:P --topic T [--group G]
every command: --timeout-ms N (default 30000) bounds connecting, retries and delivery
strings are UTF-8; --binary means base64 for keys, values and header values`;

const CLIENT_ID = "tributary-cli";

/** Connection options every command shares: --brokers H:P[,H:P…] and --timeout-ms (default 30 s). */
function connectionOf(flags: Flags) {
  const brokers = flags.required("brokers").split(",").map((b) => b.trim()).filter(Boolean);
  const timeoutMs = flags.integer("timeout-ms", { min: 100 }) ?? 30_000;
  return {
    brokers,
    clientId: CLIENT_ID,
    connectTimeoutMs: Math.min(timeoutMs, 10_000),
    requestTimeoutMs: timeoutMs,
    retry: { deadlineMs: timeoutMs },
  };
}

async function produce(flags: Flags): Promise<void> {
  const connection = connectionOf(flags);
  const topic = flags.required("topic");
  const compression = flags.oneOf("compression", COMPRESSION_CODECS) ?? "none";
  const acksText = flags.oneOf("acks", ["all", "-1", "1", "0"] as const) ?? "all";
  const binary = flags.switch("binary");
  const quiet = flags.switch("quiet");
  flags.rejectUnknown();
  const acks: Acks = acksText === "all" || acksText === "-1" ? "all" : acksText === "1" ? 1 : 0;

  const { retry: _, ...rest } = connection;
  const producer = createProducer({ ...rest, compression, acks, deliveryTimeoutMs: connection.requestTimeoutMs });
  const progress = new Progress("produced", quiet);
  const inFlight: Promise<void>[] = [];
  let failure: unknown;
  let lineNumber = 0;
  try {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let message;
      try {
        message = parseRecordLine(line, binary);
      } catch (error) {
        throw new RecordLineError(`stdin line ${lineNumber}: ${(error as Error).message}`);
      }
      inFlight.push(producer.send({ topic, messages: [message] }).then(() => progress.add(1), (error) => { failure ??= error; }));
      // Bounded memory: wait for the oldest sends once many are pending.
      if (inFlight.length >= 10_000) await Promise.all(inFlight.splice(0, 5_000));
      if (failure) break;
    }
  } finally {
    // Deliver what was accepted before a bad line or a failure; report the first failure.
    await Promise.all(inFlight);
    await producer.close().catch((error) => { failure ??= error; });
    progress.finish();
  }
  if (failure) throw failure;
}

async function consume(flags: Flags): Promise<void> {
  const connection = connectionOf(flags);
  const topic = flags.required("topic");
  const from = flags.oneOf("from", ["earliest", "latest"] as const) ?? "latest";
  const count = flags.integer("count", { min: 0 });
  const idleMs = flags.integer("idle-ms", { min: 1 });
  const binary = flags.switch("binary");
  const quiet = flags.switch("quiet");
  const groupId = flags.string("group");
  flags.rejectUnknown();
  if (groupId !== undefined) {
    const progress = new Progress("consumed", quiet);
    try {
      return await consumeAsGroupMember({ connection, topic, groupId, from, count, idleMs, binary, progress });
    } finally {
      progress.finish();
    }
  }

  const consumer = createConsumer({ ...connection, offsetResetPolicy: from });
  const stop = () => void consumer.close();
  const removeInterruptHandlers = onInterrupt(stop);
  const progress = new Progress("consumed", quiet);
  // --idle-ms: stop once no record arrived for that long (time spent waiting on stdout not counted).
  const idle = new IdleTimer(idleMs, stop);
  try {
    const meta = await consumer.cluster.metadataFor([topic]);
    const info = meta.topics.get(topic);
    if (!info) throw new UsageError(`topic "${topic}" does not exist`);
    if (count === 0) return;
    consumer.assign(info.partitions.map(({ partition }) => ({ topic, partition })));
    let seen = 0;
    idle.restart();
    for await (const record of consumer.records()) {
      idle.cancel();
      await printRecord(record, binary);
      progress.add(1);
      if (count !== undefined && ++seen >= count) break;
      idle.restart();
    }
  } finally {
    idle.cancel();
    removeInterruptHandlers();
    await consumer.close();
    progress.finish();
  }
}

async function topics(action: string | undefined, flags: Flags): Promise<void> {
  const admin = createAdmin(connectionOf(flags));
  try {
    switch (action) {
      case "list": {
        flags.rejectUnknown();
        for (const name of await admin.listTopics()) console.log(name);
        return;
      }
      case "create": {
        const topic = flags.required("topic");
        const numPartitions = flags.integer("partitions", { min: 1 }) ?? 1;
        const replicationFactor = flags.integer("replication-factor", { min: 1, max: 32767 }) ?? 1;
        const configs = Object.fromEntries(flags.all("config").map((entry) => {
          const eq = entry.indexOf("=");
          if (eq < 1) throw new UsageError(`--config needs key=value, got "${entry}"`);
          return [entry.slice(0, eq), entry.slice(eq + 1)];
        }));
        flags.rejectUnknown();
        const [result] = await admin.createTopics([{ topic, numPartitions, replicationFactor, configs }]);
        if (result!.error) throw result!.error;
        console.log(JSON.stringify({ topic, partitions: result!.numPartitions, replicationFactor: result!.replicationFactor }));
        return;
      }
      case "delete": {
        const topic = flags.required("topic");
        flags.rejectUnknown();
        const [result] = await admin.deleteTopics([topic]);
        if (result!.error) throw result!.error;
        console.log(JSON.stringify({ topic, deleted: true }));
        return;
      }
      default:
        throw new UsageError(`topics needs create, list or delete${action ? `, not "${action}"` : ""}`);
    }
  } finally {
    admin.close();
  }
}

async function offsets(flags: Flags): Promise<void> {
  const connection = connectionOf(flags);
  const topic = flags.required("topic");
  const group = flags.string("group");
  flags.rejectUnknown();
  const admin = createAdmin(connection);
  try {
    const [earliest, latest] = await Promise.all([admin.listOffsets(topic, "earliest"), admin.listOffsets(topic, "latest")]);
    const failedItem = [...earliest, ...latest].find((item) => item.error);
    if (failedItem) throw failedItem.error;
    const lag = group ? await admin.computeGroupLag(group, [topic]) : undefined;
    for (const first of earliest.sort((a, b) => a.partition - b.partition)) {
      const last = latest.find((l) => l.partition === first.partition)!;
      const line: Record<string, unknown> = { topic, partition: first.partition, earliest: first.offset, latest: last.offset };
      if (lag) {
        const p = lag.partitions.find((l) => l.partition === first.partition);
        line.group = group;
        line.committed = p?.committed ?? -1;
        line.lag = p?.lag ?? null;
      }
      console.log(JSON.stringify(line));
    }
  } finally {
    admin.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const { positionals, flags: raw } = parseArgs(argv);
    const flags = new Flags(raw);
    const [command, action] = positionals;
    if (command === undefined || flags.switch("help")) {
      console.log(USAGE);
      return command === undefined && !flags.switch("help") ? 2 : 0;
    }
    switch (command) {
      case "produce": await produce(flags); break;
      case "consume": await consume(flags); break;
      case "topics": await topics(action, flags); break;
      case "offsets": await offsets(flags); break;
      default: throw new UsageError(`unknown command "${command}"`);
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
    process.stderr.write(`tributary: ${message.split("\n")[0]}\n`);
    if (error instanceof UsageError) process.stderr.write(`run "tributary --help" for usage\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
