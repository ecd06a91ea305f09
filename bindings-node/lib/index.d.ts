// Types of the `tidelog` package: KafkaJS's core API (same names and shapes) plus
// EmbeddedBroker. Times are in ms, sizes in bytes; offsets and timestamps are strings.
/// <reference types="node" />

export type Value = Buffer | string | null
export type IHeaders = { [key: string]: Buffer | string | (Buffer | string)[] | undefined }

export interface RetryOptions { retries?: number; initialRetryTime?: number; maxRetryTime?: number; factor?: number; multiplier?: number }

export interface KafkaConfig {
  /** `host:port` of the bootstrap brokers (required). */
  brokers: string[]
  clientId?: string
  /** Refused (KafkaJSNonRetriableError) until tidelog speaks TLS. */
  ssl?: false
  /** Refused (KafkaJSNonRetriableError) until tidelog speaks SASL. */
  sasl?: undefined
  connectionTimeout?: number
  /** `request.timeout.ms`. */
  requestTimeout?: number
  retry?: RetryOptions
  logLevel?: number
}

export declare const logLevel: { NOTHING: 0; ERROR: 1; WARN: 2; INFO: 4; DEBUG: 5 }
export declare const CompressionTypes: { None: 0; GZIP: 1; Snappy: 2; LZ4: 3; ZSTD: 4 }
export declare const ConfigResourceTypes: { UNKNOWN: 0; TOPIC: 2; BROKER: 4; BROKER_LOGGER: 8 }
export declare const ConfigSource: {
  UNKNOWN: 0; TOPIC_CONFIG: 1; DYNAMIC_BROKER_CONFIG: 2; DYNAMIC_DEFAULT_BROKER_CONFIG: 3
  STATIC_BROKER_CONFIG: 4; DEFAULT_CONFIG: 5; DYNAMIC_BROKER_LOGGER_CONFIG: 6
}

export interface PartitionMetadata { partitionErrorCode: number; partitionId: number; leader: number; replicas: number[]; isr: number[]; offlineReplicas?: number[] }
export type ICustomPartitioner = () => (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number
export declare const Partitioners: { DefaultPartitioner: ICustomPartitioner; JavaCompatiblePartitioner: ICustomPartitioner }

export interface Message { key?: Value; value: Value; partition?: number; headers?: IHeaders; timestamp?: string }
export interface ProducerRecord { topic: string; messages: Message[]; acks?: -1 | 0 | 1; timeout?: number; compression?: number }
export interface TopicMessages { topic: string; messages: Message[] }
export interface ProducerBatch { topicMessages: TopicMessages[]; acks?: -1 | 0 | 1; timeout?: number; compression?: number }
export interface RecordMetadata { topicName: string; partition: number; errorCode: number; baseOffset?: string; logAppendTime?: string; logStartOffset?: string; offset?: string; timestamp?: string }

export interface InstrumentationEvent<T = any> { id: number; type: string; timestamp: number; payload: T }
export type RemoveInstrumentationEventListener = () => void

export interface ProducerConfig { idempotent?: boolean; maxInFlightRequests?: number; transactionTimeout?: number; createPartitioner?: ICustomPartitioner; retry?: RetryOptions; allowAutoTopicCreation?: boolean }

export declare class Producer {
  readonly events: { CONNECT: 'producer.connect'; DISCONNECT: 'producer.disconnect'; REQUEST: string; REQUEST_TIMEOUT: string; REQUEST_QUEUE_SIZE: string }
  /** Rejects with KafkaJSConnectionError when no broker answers. */
  connect (): Promise<void>
  /** Resolves once every record sent is reported. */
  disconnect (): Promise<void>
  /** Resolves once every record is acknowledged, to one RecordMetadata per partition. */
  send (record: ProducerRecord): Promise<RecordMetadata[]>
  sendBatch (batch: ProducerBatch): Promise<RecordMetadata[]>
  isIdempotent (): boolean
  on (eventName: string, listener: (event: InstrumentationEvent) => void): RemoveInstrumentationEventListener
}

export interface ConsumerConfig {
  groupId: string
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  maxBytesPerPartition?: number
  minBytes?: number
  maxBytes?: number
  maxWaitTimeInMs?: number
  allowAutoTopicCreation?: boolean
  readUncommitted?: boolean
}

export interface KafkaMessage { key: Buffer | null; value: Buffer | null; timestamp: string; attributes: number; offset: string; headers?: { [key: string]: Buffer | null | (Buffer | null)[] }; size?: number }
export interface EachMessagePayload { topic: string; partition: number; message: KafkaMessage; heartbeat (): Promise<void>; pause (): () => void }
export interface Batch {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty (): boolean
  firstOffset (): string | null
  lastOffset (): string
  offsetLag (): string
  offsetLagLow (): string
}
export interface OffsetsByTopicPartition { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }
export interface EachBatchPayload {
  batch: Batch
  resolveOffset (offset: string): void
  heartbeat (): Promise<void>
  pause (): () => void
  commitOffsetsIfNecessary (offsets?: OffsetsByTopicPartition): Promise<void>
  uncommittedOffsets (): OffsetsByTopicPartition
  isRunning (): boolean
  isStale (): boolean
}
export interface ConsumerRunConfig {
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  eachBatchAutoResolve?: boolean
  partitionsConsumedConcurrently?: number
  eachMessage?: (payload: EachMessagePayload) => Promise<void>
  eachBatch?: (payload: EachBatchPayload) => Promise<void>
}
export interface TopicPartitionOffsetAndMetadata { topic: string; partition: number; offset: string; metadata?: string | null }
export interface TopicPartitions { topic: string; partitions?: number[] }
export interface MemberDescription { memberId: string; clientId: string; clientHost: string; groupInstanceId: string | null; assignment: { topic: string; partition: number }[] }
export interface GroupDescription { errorCode: number; groupId: string; members: MemberDescription[]; protocol: string; protocolType: string; state: string }

export declare class Consumer {
  readonly events: {
    HEARTBEAT: 'consumer.heartbeat'; COMMIT_OFFSETS: 'consumer.commit_offsets'; GROUP_JOIN: 'consumer.group_join'
    FETCH_START: 'consumer.fetch_start'; FETCH: 'consumer.fetch'; START_BATCH_PROCESS: 'consumer.start_batch_process'
    END_BATCH_PROCESS: 'consumer.end_batch_process'; CONNECT: 'consumer.connect'; DISCONNECT: 'consumer.disconnect'
    STOP: 'consumer.stop'; CRASH: 'consumer.crash'; REBALANCING: 'consumer.rebalancing'
    RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics'; REQUEST: string; REQUEST_TIMEOUT: string; REQUEST_QUEUE_SIZE: string
  }
  connect (): Promise<void>
  disconnect (): Promise<void>
  subscribe (subscription: { topics: (string | RegExp)[]; fromBeginning?: boolean } | { topic: string | RegExp; fromBeginning?: boolean }): Promise<void>
  run (config: ConsumerRunConfig): Promise<void>
  stop (): Promise<void>
  commitOffsets (offsets: TopicPartitionOffsetAndMetadata[]): Promise<void>
  seek (target: { topic: string; partition: number; offset: string }): void
  pause (topics: TopicPartitions[]): void
  resume (topics: TopicPartitions[]): void
  paused (): { topic: string; partitions: number[] }[]
  describeGroup (): Promise<GroupDescription>
  on (eventName: string, listener: (event: InstrumentationEvent) => void): RemoveInstrumentationEventListener
}

export interface ITopicConfig { topic: string; numPartitions?: number; replicationFactor?: number; configEntries?: { name: string; value: string }[] }
export interface ConfigEntry { configName: string; configValue: string | null; readOnly: boolean; isDefault: boolean; configSource: number; isSensitive: boolean; configSynonyms: unknown[] }
export interface DescribeConfigResponse { throttleTime: number; resources: { errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number; configEntries: ConfigEntry[] }[] }

export declare class Admin {
  connect (): Promise<void>
  disconnect (): Promise<void>
  /** True if every topic was created, false if some existed already. */
  createTopics (options: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean>
  deleteTopics (options: { topics: string[]; timeout?: number }): Promise<void>
  createPartitions (options: { topicPartitions: { topic: string; count: number }[]; validateOnly?: boolean; timeout?: number }): Promise<void>
  listTopics (): Promise<string[]>
  fetchTopicMetadata (options?: { topics?: string[] }): Promise<{ topics: { name: string; partitions: PartitionMetadata[] }[] }>
  fetchTopicOffsets (topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]>
  fetchTopicOffsetsByTimestamp (topic: string, timestamp?: number): Promise<{ partition: number; offset: string }[]>
  fetchOffsets (options: { groupId: string; topics?: string[]; resolveOffsets?: boolean }): Promise<{ topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[]>
  setOffsets (options: { groupId: string; topic: string; partitions: { partition: number; offset: string }[] }): Promise<void>
  resetOffsets (options: { groupId: string; topic: string; earliest?: boolean }): Promise<void>
  describeConfigs (options: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms?: boolean }): Promise<DescribeConfigResponse>
  alterConfigs (options: { resources: { type: number; name: string; configEntries: { name: string; value: string }[] }[]; validateOnly?: boolean }): Promise<{ throttleTime: number; resources: { errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }[] }>
  listGroups (): Promise<{ groups: { groupId: string; protocolType: string }[] }>
  describeGroups (groupIds: string[]): Promise<{ groups: GroupDescription[] }>
  deleteGroups (groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]>
  deleteTopicRecords (options: { topic: string; partitions: { partition: number; offset: string }[] }): Promise<void>
  describeCluster (): Promise<{ brokers: { nodeId: number; host: string; port: number }[]; controller: number | null; clusterId: string }>
}

export declare class Kafka {
  /** Throws KafkaJSNonRetriableError for bad options (no brokers, ssl, sasl, ...). */
  constructor (config: KafkaConfig)
  producer (config?: ProducerConfig): Producer
  /** Throws KafkaJSNonRetriableError without groupId or for a bad value, naming it. */
  consumer (config: ConsumerConfig): Consumer
  admin (): Admin
}

export interface EmbeddedBrokerOptions {
  /** Partitions of auto-created topics (default 1). */
  partitions?: number
  /** Where logs go (default: memory, or a temporary directory with `inMemory: false`). */
  dataDir?: string
  inMemory?: boolean
  autoCreateTopics?: boolean
  /** Further broker settings by Kafka key, e.g. `{ 'log.segment.bytes': 1048576 }`. */
  settings?: { [key: string]: string | number | boolean }
}

/** A tidelog broker inside this process, on 127.0.0.1 and a free port. */
export declare class EmbeddedBroker {
  static start (options?: EmbeddedBrokerOptions): Promise<EmbeddedBroker>
  readonly bootstrapServers: string
  readonly brokers: string[]
  stop (): Promise<void>
}

export declare class KafkaJSError extends Error { readonly retriable: boolean; readonly cause?: unknown; constructor (e: Error | string, options?: { retriable?: boolean; cause?: unknown }) }
export declare class KafkaJSNonRetriableError extends KafkaJSError {}
/** `type` is Kafka's error name (e.g. UNKNOWN_TOPIC_OR_PARTITION), `code` its number. */
export declare class KafkaJSProtocolError extends KafkaJSError { readonly type: string; readonly code: number }
export declare class KafkaJSCreateTopicError extends KafkaJSProtocolError { readonly topic: string }
export declare class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError { readonly retryCount: number; readonly retryTime: number }
export declare class KafkaJSConnectionError extends KafkaJSError { readonly broker?: string; readonly code?: string }
export declare class KafkaJSRequestTimeoutError extends KafkaJSError { readonly broker?: string }
export declare class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {}
export declare class KafkaJSDeleteGroupsError extends KafkaJSError { readonly groups: { groupId: string; errorCode: number; error?: KafkaJSError }[] }
export declare class KafkaJSDeleteTopicRecordsError extends KafkaJSError { readonly partitions: { partition: number; offset: string; error: KafkaJSError }[] }
export declare class KafkaJSAggregateError extends Error { readonly errors: Error[] }
