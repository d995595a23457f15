// The runtime client suite: the admin client, the producer and the partition consumer against the
// real broker, in plain JavaScript so that Node, Bun, Deno and workerd run it unchanged. Each runner
// imports the package as that runtime's users do (its socket factory is that runtime's own) and
// passes it in. The suite checks everything it can itself and returns facts; the vitest side
// (client-matrix.test.ts) compares those facts with what it computes from the same generator.

export const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];
export const PARTITIONS = 3;
/** The one big value (under the broker's default message.max.bytes of 1 MiB + 12). */
export const LARGE_VALUE_BYTES = 1_000_000;
const INDEX_HEADER = "i";
const encoder = new TextEncoder();

/** xorshift32: a tiny PRNG that gives the same sequence in every runtime. */
export function xorshift(seed) {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function bytes(next, length, compressible) {
  const out = new Uint8Array(length);
  // Compressible values repeat a short random word, so that the codecs have something to do.
  const word = compressible ? Array.from({ length: 1 + (next() % 12) }, () => next() & 0xff) : null;
  for (let i = 0; i < length; i++) out[i] = word ? word[i % word.length] : next() & 0xff;
  return out;
}

/**
 * The records the suite produces, in the order it sends them: `perCodec` records for each codec
 * (keys as strings, as bytes and null; null and empty values; repeated, null and non-ASCII
 * header keys), then, when `large`, one ~1 MB value sent uncompressed. Each carries its index in
 * its first header ("i"), so that the reader can match what it reads to what was sent.
 */
export function generateRecords(seed, { perCodec = 40, large = true } = {}) {
  const next = xorshift(seed);
  const records = [];
  const add = (codec, key, value, extraHeaders = []) => {
    const index = records.length;
    records.push({ index, codec, key, value, headers: [{ key: INDEX_HEADER, value: String(index) }, ...extraHeaders] });
  };
  for (const codec of CODECS) {
    for (let n = 0; n < perCodec; n++) {
      const size = next() % 2_000;
      const value = bytes(next, size, n % 2 === 0);
      switch (n % 6) {
        case 0: add(codec, null, value); break;
        case 1: add(codec, `user-${next() % 1_000}`, value); break;
        case 2: add(codec, bytes(next, 1 + (next() % 16), false), null); break; // a tombstone
        case 3: add(codec, `ключ-${n}-🔑`, value, [
          { key: "trace", value: bytes(next, next() % 40, false) },
          { key: "trace", value: null },
          { key: "grüße", value: "text value" },
        ]); break;
        case 4: add(codec, bytes(next, 1 + (next() % 16), false), new Uint8Array(0)); break;
        default: add(codec, null, null, [{ key: "", value: new Uint8Array(0) }]);
      }
    }
  }
  if (large) add("none", "large-value", bytes(next, LARGE_VALUE_BYTES, false), [{ key: "size", value: String(LARGE_VALUE_BYTES) }]);
  return records;
}

const asBytes = (value) => (typeof value === "string" ? encoder.encode(value) : value);

/**
 * A canonical byte string of records (key, value, headers; lengths as uint32, 0xffffffff for
 * null), whose SHA-256 the suite reports and the vitest side recomputes with node:crypto.
 */
export function canonicalBytes(records) {
  const parts = [];
  const length = (n) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    parts.push(b);
  };
  const field = (value) => {
    if (value === null || value === undefined) return length(0xffffffff);
    const b = asBytes(value);
    length(b.byteLength);
    parts.push(b);
  };
  for (const record of records) {
    field(record.key);
    field(record.value);
    length(record.headers.length);
    for (const header of record.headers) {
      field(header.key);
      field(header.value);
    }
  }
  const out = new Uint8Array(parts.reduce((sum, b) => sum + b.byteLength, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

async function sha256(data) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sameBytes(a, b) {
  if (a === null || b === null) return a === b;
  const x = asBytes(a);
  const y = asBytes(b);
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

function sameRecord(sent, read) {
  return sameBytes(sent.key ?? null, read.key) && sameBytes(sent.value, read.value) &&
    sent.headers.length === read.headers.length &&
    sent.headers.every((h, i) => h.key === read.headers[i].key && sameBytes(h.value, read.headers[i].value));
}

/**
 * The compression codec of every record of a partition, as stored by the broker: the consumer
 * hands out records, not batches, so this reads the partition's batches with hand-built Fetch v4
 * requests on the package's own `Connection` and decodes them with `decodeRecordBatches`.
 */
async function storedCodecs(tributary, { host, port, topic, partition, from, to }) {
  const name = encoder.encode(topic);
  const clientId = encoder.encode("tributary-client-suite");
  const connection = await tributary.Connection.connect({ host, port, requestTimeoutMs: 15_000 });
  const codecs = new Map();
  try {
    for (let offset = from; offset < to;) {
      const message = new Uint8Array(8 + 2 + clientId.length + 21 + 2 + name.length + 4 + 16);
      const view = new DataView(message.buffer);
      let at = 0;
      const int16 = (n) => { view.setInt16(at, n); at += 2; };
      const int32 = (n) => { view.setInt32(at, n); at += 4; };
      const text = (b) => { int16(b.length); message.set(b, at); at += b.length; };
      int16(1); int16(4); int32(0); text(clientId); // header v1: Fetch v4, correlation id (set by the connection)
      int32(-1); int32(0); int32(0); int32(16 << 20); view.setInt8(at++, 0); // replica, max wait, min/max bytes, isolation
      int32(1); text(name); int32(1); int32(partition);
      view.setBigInt64(at, BigInt(offset)); at += 8;
      int32(8 << 20);
      const frame = await connection.request(message);
      const r = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      at = 4 + 4 + 4; // correlation id, throttle time, topic count
      at += 2 + r.getInt16(at) + 4 + 4; // topic name, partition count, partition index
      const error = r.getInt16(at);
      if (error !== 0) throw new Error(`Fetch ${topic}/${partition}@${offset}: error code ${error}`);
      at += 2 + 8 + 8;
      const aborted = r.getInt32(at);
      at += 4 + Math.max(0, aborted) * 16;
      const size = r.getInt32(at);
      const set = tributary.decodeRecordBatches(frame.subarray(at + 4, at + 4 + Math.max(0, size)));
      if (set.batches.length === 0) throw new Error(`Fetch ${topic}/${partition}@${offset}: no complete batch`);
      for (const batch of set.batches) {
        for (let o = batch.baseOffset; o <= batch.lastOffset; o++) codecs.set(o, batch.compression);
      }
      offset = set.nextOffset;
    }
  } finally {
    connection.close();
  }
  return codecs;
}

/** The runtime running this, with its version. */
export function runtimeName() {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  if (typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers") return `workerd ${navigator.userAgent}`;
  return `node ${process.version}`;
}

export const errorText = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** A clean-up step runner: a step that fails is noted in `errors` ("what: error"), the next still runs. */
export function cleanupInto(errors) {
  return async (what, action) => {
    try {
      await action();
    } catch (error) {
      errors.push(`${what}: ${errorText(error)}`);
    }
  };
}

/**
 * The rest of the producer, consumer and admin API on a second, 2-partition topic: acks 1 with a
 * custom partitioner, acks 0 with linger and `flush()`, explicit timestamps, a seek by timestamp,
 * pause and resume, `run({ eachBatch })`, `createPartitions` and `deleteRecords`. Returns facts;
 * the vitest side checks them.
 */
async function moreOfTheApi(tributary, admin, common, topic) {
  const facts = { partitionerPartitions: null, acks1Offsets: null, acks0Latest: null, seekByTimestamp: null, pausedListed: null, resumedRead: null, partitionsAfterCreate: null, earliestAfterDelete: null };
  const [created] = await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]);
  if (created.error) throw created.error;
  const text = (i) => encoder.encode(`more-${i}`);
  const producers = [];
  let consumer = null;
  try {
    // acks 1, every record to partition 1 by a custom partitioner.
    const one = tributary.createProducer({ ...common, acks: 1, partitioner: () => 1 });
    producers.push(one);
    const sent = await one.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: text(i) })) });
    facts.partitionerPartitions = sent.map((m) => m.partition);
    facts.acks1Offsets = sent.map((m) => m.offset);
    // acks 0, lingering, to partition 0 with explicit timestamps a second apart; flush() sends them.
    const t0 = Date.now() - 60_000;
    const zero = tributary.createProducer({ ...common, acks: 0, lingerMs: 60_000 });
    producers.push(zero);
    const sends = Array.from({ length: 5 }, (_, i) => zero.send({ topic, messages: [{ value: text(10 + i), partition: 0, timestamp: t0 + i * 1_000 }] }));
    await zero.flush();
    await Promise.all(sends);
    const latestOf = async (partition) => (await admin.listOffsets([{ topic, partition }], "latest"))[0].offset;
    for (let i = 0; i < 50 && (await latestOf(0)) < 5; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    facts.acks0Latest = await latestOf(0);

    // Seek by timestamp, read, pause (nothing comes), resume (the rest comes), with run({ eachBatch }).
    consumer = tributary.createConsumer({ ...common, maxWaitMs: 100 });
    const tp = { topic, partition: 0 };
    consumer.assign([{ ...tp, offset: 0 }]);
    facts.seekByTimestamp = await consumer.seek(tp, { timestamp: t0 + 3_000 });
    const offsets = [];
    const run = consumer.run({ eachBatch: ({ records }) => void offsets.push(...records.map((r) => r.offset)) });
    const until = async (condition) => {
      for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await until(() => offsets.length >= 2);
    consumer.pause([tp]);
    facts.pausedListed = consumer.paused().some((p) => p.topic === topic && p.partition === 0);
    const late = zero.send({ topic, messages: [{ value: text(20), partition: 0 }] }); // lingers until flush()
    await zero.flush();
    await late;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = offsets.length;
    consumer.resume([tp]);
    await until(() => offsets.length > whilePaused);
    facts.resumedRead = { beforePause: offsets.slice(0, whilePaused), afterResume: offsets.slice(whilePaused) };
    await consumer.close();
    await run;
    consumer = null;

    // Admin: more partitions; records deleted below an offset.
    const [grown] = await admin.createPartitions([{ topic, count: 3 }]);
    if (grown.error) throw grown.error;
    for (let i = 0; i < 50; i++) {
      facts.partitionsAfterCreate = (await admin.describeTopics([topic]))[0]?.partitions.length ?? null;
      if (facts.partitionsAfterCreate === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [deleted] = await admin.deleteRecords([{ topic, partition: 0, offset: 2 }]);
    if (deleted.error) throw deleted.error;
    facts.earliestAfterDelete = (await admin.listOffsets([{ topic, partition: 0 }], "earliest"))[0].offset;
  } finally {
    if (consumer) await consumer.close().catch(() => {});
    for (const producer of producers) await producer.close().catch(() => {});
    await admin.deleteTopics([topic]).catch(() => {});
  }
  return facts;
}

/** An unsecured JWT (alg "none", empty signature): what the broker's default OAUTHBEARER validator accepts. */
function unsecuredJwt(claims) {
  const part = (value) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "none" })}.${part(claims)}.`;
}

/**
 * Every SASL mechanism over the broker's SASL listener (scripts/kafka/sasl.properties): per
 * mechanism, a producer and a consumer whose every connection logs in through the `authenticate`
 * hook write one record to `topic` and read it back; then a wrong password. Reports, per
 * mechanism, "ok" or what went wrong, and the wrong password's error class.
 */
async function overSasl(tributary, admin, host, saslPort, topic) {
  const now = () => Math.floor(Date.now() / 1000);
  const mechanisms = {
    PLAIN: () => tributary.saslPlain({ username: "alice", password: "alice-secret" }),
    "SCRAM-SHA-256": () => tributary.saslScramSha256({ username: "alice", password: "alice-secret" }),
    "SCRAM-SHA-512": () => tributary.saslScramSha512({ username: "bob", password: "bob-secret" }),
    OAUTHBEARER: () => tributary.saslOAuthBearer({ token: async () => unsecuredJwt({ sub: "carol", iat: now(), exp: now() + 3600 }) }),
  };
  const over = (mechanism) => ({
    brokers: [`${host}:${saslPort}`],
    clientId: "tributary-client-suite-sasl",
    requestTimeoutMs: 15_000,
    retry: { deadlineMs: 15_000 },
    authenticate: (c) => tributary.authenticateSasl(c.connection, mechanism(), { apiVersions: c.apiVersions, clientId: c.clientId }),
  });
  const facts = {};
  const [created] = await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
  if (created.error) throw created.error;
  try {
    for (const [name, mechanism] of Object.entries(mechanisms)) {
      const value = `written over ${name}`;
      const producer = tributary.createProducer(over(mechanism));
      const consumer = tributary.createConsumer({ ...over(mechanism), maxWaitMs: 100 });
      try {
        const [sent] = await producer.send({ topic, messages: [{ key: name, value }] });
        consumer.assign([{ topic, partition: sent.partition, offset: sent.offset }]);
        for await (const batch of consumer.batches()) {
          const record = batch.records[0];
          facts[name] = record && new TextDecoder().decode(record.value) === value ? "ok" : "read something else";
          break;
        }
      } catch (error) {
        facts[name] = errorText(error);
      } finally {
        await consumer.close().catch(() => {});
        await producer.close().catch(() => {});
      }
    }
    const wrong = tributary.createAdmin({ ...over(() => tributary.saslScramSha512({ username: "bob", password: "wrong" })), retry: { deadlineMs: 5_000 } });
    try {
      await wrong.listTopics();
      facts.wrongPassword = "accepted";
    } catch (error) {
      facts.wrongPassword = error instanceof tributary.AuthenticationError ? "AuthenticationError" : errorText(error);
    } finally {
      wrong.close();
    }
  } finally {
    await admin.deleteTopics([topic]).catch(() => {});
  }
  return facts;
}

/**
 * Runs the suite against the broker at host:port with a topic named `topic` (which must not
 * exist), records from `generateRecords(seed, shape)`. Never throws: failures are in `error` and
 * the checks.
 */
export async function runClientSuite(tributary, { host, port, topic, seed, saslPort = null, shape = {}, deadlineMs = 40_000 }) {
  const brokers = [`${host}:${port}`];
  const started = Date.now();
  const common = { brokers, clientId: "tributary-client-suite", requestTimeoutMs: 15_000 };
  const records = generateRecords(seed, shape);
  const facts = {
    runtime: runtimeName(),
    topic,
    error: null,
    cleanupErrors: [],
    created: null,
    listed: false,
    described: null,
    sent: 0,
    sentByCodec: {},
    sentDigest: await sha256(canonicalBytes(records)),
    consumed: 0,
    consumedDigest: null,
    /** Per partition, the indices of the records read, in the order they were read. */
    partitions: [],
    earliest: null,
    latest: null,
    largeValueBytes: -1,
    /** Records read, by the codec of the batch the broker stores them in. */
    storedByCodec: {},
    checks: {},
    /** The rest of the API, on a second topic (see moreOfTheApi). */
    more: null,
    /** Each SASL mechanism through the broker's SASL listener, when `saslPort` is given (see overSasl). */
    sasl: null,
    deleted: false,
    goneAfterDelete: false,
    closed: false,
  };
  const admin = tributary.createAdmin({ ...common, retry: { deadlineMs: 20_000 } });
  const producers = [];
  let consumer = null;
  let topicCreated = false;
  try {
    // Admin: create, list, describe.
    const [created] = await admin.createTopics([{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
    facts.created = { error: created.error && errorText(created.error), numPartitions: created.numPartitions, hasTopicId: typeof created.topicId === "string" };
    if (created.error) throw created.error;
    topicCreated = true;
    facts.listed = (await admin.listTopics()).includes(topic);
    const [described] = await admin.describeTopics([topic]);
    facts.described = described
      ? { partitions: described.partitions.map((p) => p.partition), leadersKnown: described.partitions.every((p) => p.leader >= 0), topicIdMatches: described.topicId === created.topicId }
      : null;

    // Produce: one producer per codec, one send per run of records with the same codec, one run
    // after the other, so that each partition's log holds its records in index order.
    const metadata = new Array(records.length);
    const producerFor = new Map();
    for (let start = 0; start < records.length;) {
      const codec = records[start].codec;
      let end = start;
      while (end < records.length && records[end].codec === codec) end++;
      const run = records.slice(start, end);
      start = end;
      let producer = producerFor.get(codec);
      if (!producer) {
        producer = tributary.createProducer({ ...common, compression: codec, deliveryTimeoutMs: 30_000 });
        producerFor.set(codec, producer);
        producers.push(producer);
      }
      const sent = await producer.send({ topic, messages: run.map((r) => ({ key: r.key, value: r.value, headers: r.headers })) });
      sent.forEach((m, i) => (metadata[run[i].index] = m));
      facts.sentByCodec[codec] = (facts.sentByCodec[codec] ?? 0) + sent.length;
      facts.sent += sent.length;
    }
    const keyed = records.filter((r) => r.key !== null);
    facts.checks.sentKeyedToJavaPartition = keyed.every((r) => metadata[r.index].partition === tributary.partitionForKey(r.key, PARTITIONS));
    facts.checks.sentTopicAndOffsets = metadata.every((m) => m && m.topic === topic && Number.isInteger(m.offset) && m.offset >= 0);

    // Admin: offsets.
    const byPartition = (list) => {
      const out = new Array(PARTITIONS).fill(null);
      for (const o of list) if (o.error === null && o.partition >= 0 && o.partition < PARTITIONS) out[o.partition] = o.offset;
      return out;
    };
    const earliestList = await admin.listOffsets(topic, "earliest");
    const latestList = await admin.listOffsets(topic, "latest");
    facts.earliest = byPartition(earliestList);
    facts.latest = byPartition(latestList);
    facts.checks.offsetsListedWithoutErrors = earliestList.length === PARTITIONS && latestList.length === PARTITIONS &&
      [...earliestList, ...latestList].every((o) => o.error === null);

    // Consume: assign mode, every partition from the earliest offset (the reset policy), until
    // the batches handed out reach each partition's high watermark listed above. (Not
    // `position()`: that is the next offset to fetch, past batches fetched but not yet handed out.)
    consumer = tributary.createConsumer({ ...common, offsetResetPolicy: "earliest", maxWaitMs: 200 });
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps);
    const read = Array.from({ length: PARTITIONS }, () => []);
    // Where each partition's handed-out batches end (an empty partition is there from the start).
    const reached = facts.earliest.map((offset) => offset ?? -1);
    const done = () => reached.every((offset, p) => offset >= (facts.latest[p] ?? Infinity));
    let timedOut = false;
    const remaining = deadlineMs - (Date.now() - started);
    const timer = setTimeout(() => {
      timedOut = true;
      void consumer.close();
    }, Math.max(1_000, remaining));
    try {
      if (!done()) {
        for await (const batch of consumer.batches()) {
          if (batch.topic !== topic) throw new Error(`a batch of topic ${batch.topic}`);
          for (const record of batch.records) read[batch.partition].push(record);
          reached[batch.partition] = Math.max(reached[batch.partition], batch.nextOffset);
          if (done()) break;
        }
      }
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw new Error(`the consumer had not reached the high watermarks ${JSON.stringify(facts.latest)} after ${deadlineMs} ms (read ${read.map((r) => r.length)})`);

    // Check what was read against what was sent.
    const indexOf = (record) => {
      const header = record.headers[0];
      return header && header.key === INDEX_HEADER && header.value ? Number(new TextDecoder().decode(header.value)) : -1;
    };
    const seen = new Map();
    let bytesEqual = true;
    let matchesMetadata = true;
    let timestampsMatch = true;
    let orderPerPartition = true;
    let offsetsContiguous = true;
    read.forEach((list, partition) => {
      const indices = list.map(indexOf);
      facts.partitions.push(indices);
      list.forEach((record, i) => {
        const index = indices[i];
        const sent = records[index];
        if (!sent || seen.has(index)) {
          bytesEqual = false;
          return;
        }
        seen.set(index, record);
        if (!sameRecord(sent, record)) bytesEqual = false;
        const m = metadata[index];
        if (m.partition !== partition || m.offset !== record.offset) matchesMetadata = false;
        if (m.timestamp !== record.timestamp) timestampsMatch = false;
        if (i > 0 && !(index > indices[i - 1])) orderPerPartition = false;
        if (record.offset !== (facts.earliest[partition] ?? 0) + i) offsetsContiguous = false;
      });
    });
    facts.consumed = read.reduce((sum, list) => sum + list.length, 0);
    const inOrder = [...seen.keys()].sort((a, b) => a - b).map((index) => seen.get(index));
    facts.consumedDigest = await sha256(canonicalBytes(inOrder));
    const large = records.find((r) => r.key === "large-value");
    if (large) facts.largeValueBytes = seen.get(large.index)?.value?.byteLength ?? -1;
    facts.checks.everyRecordReadOnce = seen.size === records.length && facts.consumed === records.length;
    facts.checks.bytesEqual = bytesEqual && seen.size === records.length;
    facts.checks.readWhereSent = matchesMetadata;
    facts.checks.timestampsAsSent = timestampsMatch;
    facts.checks.orderPerPartition = orderPerPartition;
    facts.checks.offsetsContiguous = offsetsContiguous;
    facts.checks.readKeyedFromJavaPartition = keyed.every((r) => facts.partitions[tributary.partitionForKey(r.key, PARTITIONS)]?.includes(r.index));
    facts.checks.latestIsReadCount = facts.latest.every((offset, p) => offset === (facts.earliest[p] ?? 0) + read[p].length);

    // The codec of the batch each record is stored in, as the broker keeps it.
    let codecsAsSent = true;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const stored = await storedCodecs(tributary, { host, port, topic, partition, from: facts.earliest[partition], to: facts.latest[partition] });
      for (const record of read[partition]) {
        const codec = stored.get(record.offset);
        facts.storedByCodec[codec] = (facts.storedByCodec[codec] ?? 0) + 1;
        if (codec !== records[indexOf(record)]?.codec) codecsAsSent = false;
      }
    }
    facts.checks.codecsAsSent = codecsAsSent;

    facts.more = await moreOfTheApi(tributary, admin, common, `${topic}-more`);
    if (saslPort !== null) facts.sasl = await overSasl(tributary, admin, host, saslPort, `${topic}-sasl`);
  } catch (error) {
    facts.error = errorText(error);
  } finally {
    const cleanup = cleanupInto(facts.cleanupErrors);
    if (consumer) await cleanup("consumer.close", () => consumer.close());
    for (const producer of producers) await cleanup("producer.close", () => producer.close());
    if (topicCreated) {
      await cleanup("deleteTopics", async () => {
        const [deleted] = await admin.deleteTopics([topic]);
        if (deleted.error) throw deleted.error;
        facts.deleted = true;
        // Deletion reaches the broker's metadata shortly after the controller accepted it.
        const until = Date.now() + 10_000;
        while (!facts.goneAfterDelete && Date.now() < until) {
          facts.goneAfterDelete = !(await admin.listTopics()).includes(topic);
          if (!facts.goneAfterDelete) await new Promise((resolve) => setTimeout(resolve, 200));
        }
      });
    }
    await cleanup("admin.close", () => admin.close());
    facts.closed = facts.cleanupErrors.length === 0;
  }
  return facts;
}
