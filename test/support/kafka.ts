/**
 * Test helpers around scripts/kafka.sh: the project's own harness for a real Apache Kafka broker.
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const KAFKA_SCRIPT = `${REPO_ROOT}scripts/kafka.sh`;
export const SINGLE_BROKER = { host: "127.0.0.1", port: 9092 } as const;
/** The single node's SASL_PLAINTEXT listener (every mechanism; scripts/kafka/sasl.properties). */
export const SINGLE_SASL_PORT = 9094;
export const CLUSTER_BROKERS = [19092, 19093, 19094].map((port) => ({ host: "127.0.0.1", port }));

/** Runs `scripts/kafka.sh ARGS…` and returns its stdout. */
export async function kafkaScript(...args: string[]): Promise<string> {
  const { stdout } = await run("bash", [KAFKA_SCRIPT, ...args], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  return stdout;
}

/** The Java classpath holding the broker's jars (fetched on first use). */
export async function kafkaClasspath(): Promise<string> {
  return (await kafkaScript("classpath")).trim();
}

/** True when something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: boolean) => { socket.destroy(); resolve(result); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * The log directory of the broker at `address`, as the broker itself reports it (DescribeConfigs
 * of its broker resource): the broker answering may have been started from another checkout.
 */
export async function brokerLogDir(address = `${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`): Promise<string> {
  return (await brokerConfig("log.dirs", address)).split(",")[0]!;
}

/** One setting of the broker at `address`, as the broker itself reports it (DescribeConfigs of its broker resource). */
export async function brokerConfig(key: string, address = `${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`): Promise<string> {
  const { Cluster } = await import("../../src/entry/node.ts");
  const { APIS } = await import("../../src/protocol/generated/index.ts");
  const cluster = new Cluster({ brokers: [address], clientId: "tributary-test-config" });
  try {
    const meta = await cluster.connect();
    const nodeId = [...meta.brokers.keys()][0]!;
    const answer = await cluster.sendToBroker(nodeId, APIS.DescribeConfigs, {
      resources: [{ resourceType: 4, resourceName: String(nodeId), configurationKeys: [key] }],
      includeSynonyms: false, includeDocumentation: false,
    });
    const value = answer.results[0]?.configs.find((c) => c.name === key)?.value;
    if (!value) throw new Error(`broker ${address} did not report ${key}`);
    return value;
  } finally {
    cluster.close();
  }
}
