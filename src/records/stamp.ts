/**
 * Writing an idempotent producer's fields (producer id, epoch, base sequence) into a record batch
 * that is already encoded and compressed, and redoing its CRC without reading its records.
 *
 * Why: batches are compressed as soon as they are sealed, possibly on another thread
 * (src/producer/encode-threads.ts), but their producer id is known only once InitProducerId has
 * answered and their sequence only when they are sent; a new producer id or epoch (after an
 * error) renumbers batches that are already encoded. The CRC covers the batch from its
 * attributes on; these fields come just before the record count, so the encoder also returns the
 * CRC of everything from the record count on (`tailCrc`), and the core joins the new fields to it.
 */
import { core } from "../core/instance.ts";

/** Byte positions in a v2 record batch (KIP-98's layout). */
const CRC_AT = 17;
const CRC_FROM = 21; // attributes: the first byte the CRC covers
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;
/** The record count: where the part whose CRC comes with the batch (`tailCrc`) starts. */
export const BATCH_TAIL_AT = 57;

/** Writes the producer fields into `batch` (in place) and its CRC-32C from `tailCrc`. */
export function stampProducerFields(batch: Uint8Array, tailCrc: number, producerId: number, producerEpoch: number, baseSequence: number): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(PRODUCER_ID_AT, BigInt(producerId));
  view.setInt16(PRODUCER_EPOCH_AT, producerEpoch);
  view.setInt32(BASE_SEQUENCE_AT, baseSequence);
  const c = core();
  const prefixLength = BATCH_TAIL_AT - CRC_FROM;
  const at = c.scratch(prefixLength);
  c.bytes().set(batch.subarray(CRC_FROM, BATCH_TAIL_AT), at);
  const crc = c.exports.tributary_crc32c_prefixed(at, prefixLength, tailCrc, batch.byteLength - BATCH_TAIL_AT);
  view.setUint32(CRC_AT, crc >>> 0);
}
