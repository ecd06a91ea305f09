'use strict'
// KafkaJS's producer: `send` / `sendBatch` resolve once the records are acknowledged,
// to one RecordMetadata per (topic, partition).
const native = require('./native')
const errors = require('./errors')
const { Instrumentation } = require('./instrumentation')

const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 }
const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/**
 * KafkaJS's `Partitioners.DefaultPartitioner` (`JavaCompatiblePartitioner`): murmur2
 * of the key as the Java client does; records without a key are spread by the core's
 * sticky partitioner. It is applied in the core: passing it (or nothing) as
 * `createPartitioner` keeps the partitioning in Rust.
 */
function DefaultPartitioner () {
  return null
}
const Partitioners = { DefaultPartitioner, JavaCompatiblePartitioner: DefaultPartitioner }

const events = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size'
}

function invalid (message) {
  return new errors.KafkaJSNonRetriableError(message)
}

function payload (value, what, topic) {
  if (value === null || value === undefined) return undefined
  if (Buffer.isBuffer(value)) return value
  if (typeof value === 'string') return Buffer.from(value)
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw invalid(`Invalid ${what} for topic "${topic}": expected a Buffer, string or null, not ${typeof value}`)
}

function headers (object, topic) {
  if (object === undefined || object === null) return undefined
  if (typeof object !== 'object') throw invalid(`Invalid headers for topic "${topic}": expected an object`)
  const list = []
  for (const [key, value] of Object.entries(object)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      list.push({ key, value: payload(one, `header "${key}"`, topic) })
    }
  }
  return list
}

class Producer {
  /**
   * @param kafka the Kafka client
   * @param {object} options `idempotent` (default false, as KafkaJS), `maxInFlightRequests`,
   *   `createPartitioner` (a KafkaJS partitioner factory; the default one runs in Rust),
   *   `retry` (`retries`, `initialRetryTime` ms), `transactionTimeout` (ms; transactions are
   *   not supported yet, so it only must be a number).
   */
  constructor (kafka, options = {}) {
    const { idempotent = false, maxInFlightRequests, createPartitioner, transactionTimeout, retry = kafka.retry } = options
    if (typeof idempotent !== 'boolean') throw invalid('idempotent must be a boolean')
    if (transactionTimeout !== undefined && typeof transactionTimeout !== 'number') {
      throw invalid('transactionTimeout must be a number of ms')
    }
    // linger.ms=0: KafkaJS sends each send() at once, and a send() already brings its own
    // batch of messages; the core's default (5 ms) would only delay every send().
    this.settings = [['linger.ms', '0'], ...kafka.settings, ['enable.idempotence', String(idempotent)]]
    if (maxInFlightRequests !== undefined && maxInFlightRequests !== null) {
      this.settings.push(['max.in.flight.requests.per.connection', String(maxInFlightRequests)])
    }
    if (retry && retry.retries !== undefined) this.settings.push(['retries', String(retry.retries)])
    if (retry && retry.initialRetryTime !== undefined) {
      this.settings.push(['retry.backoff.ms', String(retry.initialRetryTime)])
    }
    if (createPartitioner !== undefined && typeof createPartitioner !== 'function') {
      throw invalid('createPartitioner must be a function')
    }
    this.partition = createPartitioner ? createPartitioner() : null
    this.kafka = kafka
    this.idempotent = idempotent
    this.natives = new Map()
    this.instrumentation = new Instrumentation(events)
    this.events = events
    this.metadata = new Map()
    // Fails now on a bad setting, as KafkaJS's constructor does.
    this.nativeFor(-1, 0)
  }

  nativeFor (acks, compression) {
    const key = `${acks}/${compression}`
    let producer = this.natives.get(key)
    if (!producer) {
      const codec = codecs[compression]
      if (codec === undefined) throw invalid(`Invalid compression ${compression}: expected one of CompressionTypes`)
      if (![-1, 0, 1].includes(acks)) throw invalid(`Invalid acks ${acks}: expected -1, 0 or 1`)
      producer = errors.convertedSync(() => new native.Producer([
        ...this.settings, ['acks', acks === -1 ? 'all' : String(acks)], ['compression.type', codec]
      ]))
      this.natives.set(key, producer)
    }
    return producer
  }

  /** Checks that a broker answers; rejects with KafkaJSConnectionError otherwise. */
  async connect () {
    await errors.converted(new native.Admin(this.kafka.settings).metadata([]))
    this.instrumentation.emit(events.CONNECT)
  }

  /** Closes the producer once every record sent is reported. */
  async disconnect () {
    await Promise.all([...this.natives.values()].map(p => errors.converted(p.close())))
    this.natives.clear()
    this.instrumentation.emit(events.DISCONNECT)
  }

  /**
   * Sends `messages` (`{ key, value, partition, headers, timestamp }`; key, value and
   * header values Buffers or strings) to `topic`. `acks` -1 (all, default), 0 or 1;
   * `compression` one of CompressionTypes; `timeout` (ms) is accepted as KafkaJS does.
   * Resolves to `[{ topicName, partition, errorCode, baseOffset, logAppendTime,
   * logStartOffset }]`; rejects with KafkaJSNonRetriableError for bad input,
   * KafkaJSProtocolError for a record the broker refused, and
   * KafkaJSNumberOfRetriesExceeded for a retriable error that lasted past
   * `delivery.timeout.ms`.
   */
  send ({ topic, messages, acks, timeout, compression } = {}) {
    return this.sendBatch({ topicMessages: [{ topic, messages }], acks, timeout, compression })
  }

  /** `send` for several topics at once: `topicMessages: [{ topic, messages }]`. */
  async sendBatch ({ topicMessages, acks = -1, timeout, compression = CompressionTypes.None } = {}) {
    if (!Array.isArray(topicMessages)) throw invalid('Invalid topicMessages: expected an array')
    if (timeout !== undefined && typeof timeout !== 'number') throw invalid('timeout must be a number of ms')
    if (this.idempotent && acks !== -1) {
      throw invalid(`Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees`)
    }
    const producer = this.nativeFor(acks, compression)
    // Columns, so that the records cross into the addon in one call (see OutgoingRecords
    // in native.d.ts): keys and values concatenated into one Buffer, sizes -1 for null.
    let count = 0
    for (const { messages } of topicMessages) count += Array.isArray(messages) ? messages.length : 0
    const records = {
      topics: [],
      partitions: new Int32Array(count),
      timestamps: new Float64Array(count),
      keySizes: new Int32Array(count),
      valueSizes: new Int32Array(count),
      data: null,
      headers: []
    }
    const chunks = []
    let i = 0
    for (const { topic, messages } of topicMessages) {
      if (typeof topic !== 'string' || topic === '') throw invalid(`Invalid topic ${topic}`)
      if (!Array.isArray(messages)) throw invalid(`Invalid messages array [${messages}] for topic "${topic}"`)
      records.topics.push({ topic, count: messages.length })
      for (const message of messages) {
        if (message === null || typeof message !== 'object') throw invalid(`Invalid message for topic "${topic}"`)
        if (message.value === undefined) throw invalid(`Invalid message without value for topic "${topic}"`)
        const { partition, timestamp } = message
        if (partition !== undefined && partition !== null && !(Number.isInteger(partition) && partition >= 0)) {
          throw invalid(`Invalid partition ${partition} for topic "${topic}"`)
        }
        const time = timestamp === undefined || timestamp === null ? -1 : Number(timestamp)
        if (!Number.isFinite(time)) throw invalid(`Invalid timestamp ${timestamp} for topic "${topic}"`)
        const chosen = partition ?? (this.partition ? await this.choose(topic, message) : undefined)
        records.partitions[i] = chosen ?? -1
        records.timestamps[i] = time
        const key = payload(message.key, 'key', topic)
        const value = payload(message.value, 'value', topic)
        records.keySizes[i] = key ? key.length : -1
        records.valueSizes[i] = value ? value.length : -1
        if (key) chunks.push(key)
        if (value) chunks.push(value)
        const list = headers(message.headers, topic)
        if (list && list.length > 0) records.headers.push({ index: i, headers: list })
        i++
      }
    }
    records.data = Buffer.concat(chunks)
    let results
    try {
      results = await producer.send(records)
    } catch (e) {
      const error = errors.fromNative(e)
      throw error.retriable ? new errors.KafkaJSNumberOfRetriesExceeded(error) : error
    }
    return results.map(r => ({
      topicName: r.topicName,
      partition: r.partition,
      errorCode: 0,
      baseOffset: String(r.baseOffset),
      logAppendTime: '-1',
      logStartOffset: '-1'
    }))
  }

  /** The partition the custom KafkaJS partitioner picks. */
  async choose (topic, message) {
    let partitionMetadata = this.metadata.get(topic)
    if (!partitionMetadata) {
      const cluster = await errors.converted(new native.Admin(this.kafka.settings).metadata([topic]))
      const found = cluster.topics.find(t => t.name === topic)
      if (!found || found.error) throw errors.fromNative(found && found.error) || invalid(`Unknown topic ${topic}`)
      partitionMetadata = found.partitions.map(p => ({
        partitionErrorCode: p.partitionErrorCode, partitionId: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr
      }))
      this.metadata.set(topic, partitionMetadata)
    }
    return this.partition({ topic, partitionMetadata, message })
  }

  /** KafkaJS instrumentation: `producer.on(producer.events.CONNECT, listener)`. */
  on (eventName, listener) {
    return this.instrumentation.on(eventName, listener)
  }

  /** Idempotent producers are supported; transactions are not yet. */
  isIdempotent () {
    return this.idempotent
  }
}

module.exports = { Producer, CompressionTypes, Partitioners }
