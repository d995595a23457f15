/**
 * Vitest global setup: makes sure a real Kafka broker runs on 127.0.0.1:9092 for the suite, and
 * stops it afterwards only if this run started it (a broker a developer started stays up).
 */
import { isListening, kafkaScript, SINGLE_BROKER } from "./kafka.ts";

let startedHere = false;

export async function setup(): Promise<void> {
  if (await isListening(SINGLE_BROKER.host, SINGLE_BROKER.port)) return;
  await kafkaScript("start");
  startedHere = true;
}

export async function teardown(): Promise<void> {
  if (startedHere) await kafkaScript("stop");
}
