// TLS and mutual TLS against a real Kafka broker's SSL listeners, in plain JavaScript so that Node,
// Bun, Deno and workerd run it unchanged through the package's default transport for the runtime.
// test/transport/tls-broker.test.ts starts the broker, makes the certificates and checks the result.
//
// config: { host, tlsPort, mtlsPort, topic, cases: [{ name, tls, host?, port: "tls"|"mtls", produce?, pemBytes?, bulk? }] }
// (pemBytes: pass the case's CA, certificate and key as UTF-8 bytes rather than text. bulk: instead
// of the cluster handshake, one ApiVersions on a socket opened as Fetch connections are, with
// `bulkReads`, which Node opens on its I/O thread; the outcome then says "thread" when it was.)
// Each case's result is an outcome string: "ok apis=<n> brokers=<id@host:port,...>" (plus
// " records=<values>" when it produced and consumed), or "<ErrorClass>:<reason>" when it failed.

const TIMEOUTS = { connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 };

function outcomeOf(tributary, error) {
  if (error instanceof tributary.ConnectionError) return `ConnectionError:${error.reason}`;
  if (error instanceof tributary.KafkaProtocolError) return `KafkaProtocolError:${error.code}`;
  if (error instanceof tributary.TributaryError) return `${error.name}`;
  return `untyped:${error?.name}:${error?.message}`;
}

/** Metadata through the bootstrap address, then ApiVersions on a socket to the advertised address. */
async function handshake(tributary, brokers, tls) {
  const cluster = new tributary.Cluster({ brokers, tls, ...TIMEOUTS });
  try {
    const meta = await cluster.connect();
    const list = [...meta.brokers.values()].map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort();
    const connection = cluster.connectionTo(meta.brokers.keys().next().value, "admin");
    await connection.connect();
    const apis = connection.apiVersions.length > 10 ? "many" : String(connection.apiVersions.length);
    return `ok apis=${apis} brokers=${list.join(",")}`;
  } finally {
    cluster.close();
  }
}

/** ApiVersions v0 with a null client id; the connection writes the correlation id into bytes 4..8. */
const API_VERSIONS_V0 = new Uint8Array([0, 18, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/**
 * One ApiVersions on a socket opened the way the consumer opens its Fetch connections
 * (`bulkReads`). A TLS failure after the handshake (the mTLS listener's alert for a missing client
 * certificate) must close it with reason `tls`, not leave the request waiting for its timeout.
 */
async function bulkApiVersions(tributary, host, port, tls) {
  const connection = await tributary.Connection.connect({ host, port, tls, bulkReads: true, ...TIMEOUTS });
  try {
    const answer = await connection.request(API_VERSIONS_V0);
    const errorCode = new DataView(answer.buffer, answer.byteOffset, answer.length).getInt16(4); // after the correlation id
    const thread = connection.rawSocket?.constructor.name === "ThreadSocket" ? " thread" : "";
    return `ok error=${errorCode}${thread}`;
  } finally {
    connection.close();
  }
}

/** Creates the topic, produces three records and reads them back, all over the case's TLS settings. */
async function produceConsume(tributary, brokers, tls, topic) {
  const admin = tributary.createAdmin({ brokers, tls, ...TIMEOUTS, retry: { deadlineMs: 30_000 } });
  try {
    const created = await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    if (tributary.failed(created).length > 0) throw tributary.failed(created)[0].error;
  } finally {
    admin.close();
  }
  const producer = tributary.createProducer({ brokers, tls, ...TIMEOUTS, deliveryTimeoutMs: 30_000 });
  try {
    await producer.send({ topic, messages: ["r0", "r1", "r2"].map((value, i) => ({ key: `k${i}`, value, partition: 0 })) });
  } finally {
    await producer.close();
  }
  const consumer = tributary.createConsumer({ brokers, tls, ...TIMEOUTS, offsetResetPolicy: "earliest", maxWaitMs: 200 });
  const values = [];
  try {
    consumer.assign([{ topic, partition: 0 }]);
    const decoder = new TextDecoder();
    for await (const record of consumer.records()) {
      values.push(decoder.decode(record.value));
      if (values.length === 3) break;
    }
  } finally {
    await consumer.close();
  }
  return values.join(",");
}

function asBytes(tls) {
  const bytes = (pem) => (typeof pem === "string" ? new TextEncoder().encode(pem) : pem);
  const { ca, cert, key } = tls;
  return { ...tls, ca: Array.isArray(ca) ? ca.map(bytes) : bytes(ca), cert: bytes(cert), key: bytes(key) };
}

export async function runTlsBrokerSmoke(tributary, config, runtime) {
  const results = { runtime };
  for (const item of config.cases) {
    const port = item.port === "mtls" ? config.mtlsPort : config.tlsPort;
    const brokers = [`${item.host ?? config.host}:${port}`];
    const tls = item.pemBytes ? asBytes(item.tls) : item.tls;
    try {
      if (item.bulk) {
        results[item.name] = await bulkApiVersions(tributary, item.host ?? config.host, port, tls);
        continue;
      }
      let outcome = await handshake(tributary, brokers, tls);
      if (item.produce) outcome += ` records=${await produceConsume(tributary, brokers, tls, `${config.topic}-${item.name}`)}`;
      results[item.name] = outcome;
    } catch (error) {
      results[item.name] = outcomeOf(tributary, error);
    }
  }
  return results;
}
