/**
 * Tributary's public API. Import the package root (`tributary`), not this file: the root resolves,
 * through package export conditions, to the entry point for your runtime (`src/entry/*.ts`), which
 * knows where that runtime finds the WebAssembly core.
 */
export { crc32c, murmur2, murmur2Batch, partitionForKey, partitionsForKeys, type Key } from "./hashing.ts";
export { init, initSync, isReady } from "./core/instance.ts";
export { decodeRecordBatches, type DecodeOptions } from "./records/decode.ts";
export { encodeRecordBatch, type BatchOptions, type Bytes, type HeaderInput, type RecordInput } from "./records/encode.ts";
export { RecordSet } from "./records/record-set.ts";
export type { CompressionCodec, DecodedRecord, RecordBatchInfo, RecordHeader } from "./records/types.ts";
export { OffsetTracker, type AckResult, type OffsetTrackerStats } from "./offsets/offset-tracker.ts";
export type { SyncWasmSource, WasmSource } from "./core/loader.ts";
export { ABI_VERSION } from "./core/abi.ts";
export * from "./transport/index.ts";
export {
  authenticate as authenticateSasl,
  saslMechanism,
  saslOAuthBearer,
  saslPlain,
  saslScram,
  saslScramSha256,
  saslScramSha512,
  type OAuthBearerOptions,
  type OAuthBearerToken,
  type PlainCredentials,
  type SaslAuthenticateOptions,
  type SaslAuthenticateResult,
  type SaslConfig,
  type SaslMechanism,
  type ScramCredentials,
  type ScramHash,
} from "./client/sasl/index.ts";
export {
  AuthenticationError,
  UnsupportedSaslMechanismError,
  ConnectionError,
  type ConnectionErrorReason,
  TimeoutError,
} from "./errors.ts";
export {
  CorruptRecordError,
  type CorruptRecordReason,
  DeliveryFailedError,
  type DeliveryFailure,
  KafkaProtocolError,
  ProtocolDecodeError,
  UnsupportedVersionError,
  OffsetTrackerError,
  OffsetOutOfRangeError,
  type OffsetTrackerErrorCode,
  TributaryError,
  UnsupportedMessageFormatError,
  WasmAbiMismatchError,
  WasmLoadError,
  WasmNotReadyError,
  WasmOutOfMemoryError,
  WasmTrapError,
} from "./errors.ts";
export { ERROR_CODES, errorForCode, kafkaError, type KafkaErrorCode } from "./protocol/error-codes.ts";
export {
  BrokerConnection,
  type AuthenticationContext,
  type AuthenticationOutcome,
  type BrokerConnectionOptions,
  type RequestBody,
  type SendOptions,
} from "./client/broker-connection.ts";
export {
  Cluster,
  isRetriable,
  type BrokerInfo,
  type ClusterMetadata,
  type ClusterOptions,
  type ItemResult,
  type PartitionInfo,
  type Purpose,
  type RetryOptions,
  type RouteOptions,
  type TopicInfo,
  type TopicPartition,
} from "./client/cluster.ts";
export {
  createAdmin,
  failed,
  throwOnError,
  type Admin,
  type AdminOptions,
  type ClusterDescription,
  type ConfigEntry,
  type CreateTopicResult,
  type DeleteRecordsResult,
  type GroupDescription,
  type GroupLag,
  type GroupListing,
  type GroupMember,
  type GroupOffset,
  type ListGroupsResult,
  type NewPartitions,
  type NewTopic,
  type OffsetSpec,
  type PartitionLag,
  type PartitionOffset,
  type TopicConfigs,
  type TopicResult,
} from "./admin/admin.ts";
export {
  createConsumer,
  type Assignment,
  type Consumer,
  type ConsumerBatch,
  type ConsumerOptions,
  type ConsumerRecord,
  type EachBatchOptions,
  type IsolationLevel,
  type OffsetResetPolicy,
  type SeekTarget,
} from "./consumer/consumer.ts";
export {
  createProducer,
  type Acks,
  type Partitioner,
  type PartitionerInput,
  type Producer,
  type ProducerMessage,
  type ProducerOptions,
  type ProducerRecord,
  type ProducerStats,
  type RecordMetadata,
} from "./producer/producer.ts";
export {
  createGroupConsumer,
  type AckInput,
  type BeginOffset,
  type GroupConsumer,
  type GroupConsumerOptions,
  type GroupNotification,
  type GroupRecord,
  type GroupRunOptions,
  type PartitionStatus,
  type CaughtUpNotification,
  type RecordsNotification,
} from "./group/group-consumer.ts";
export { cooperativeStickyAssignor, rangeAssignor, roundRobinAssignor, type Assignor, type AssignorName, type GroupMemberSubscription } from "./group/assignors.ts";
export { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type MemberAssignment, type Subscription } from "./group/consumer-protocol.ts";
export type { GroupEvent, GroupEventListener, GroupEvents } from "./group/events.ts";
