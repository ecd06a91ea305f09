'use strict'
// KafkaJS's consumer. `run` loops in JS: it takes records from the core in batches
// (`pollBatch`, many records per call into Rust) and calls `eachMessage` or `eachBatch`;
// offsets are resolved and committed here as KafkaJS does (`autoCommit`,
// `autoCommitInterval`, `autoCommitThreshold`), while fetching, the group protocol and
// heartbeats run in the core.
const native = require('./native')
const errors = require('./errors')
const { Instrumentation } = require('./instrumentation')

const events = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size'
}

/** Records taken from the core per call. */
const BATCH = 2000
/** How long one `pollBatch` waits for a record (ms) before the loop checks its state. */
const POLL_WAIT = 100
// KafkaJS's special seek offsets.
const EARLIEST = -2
const LATEST = -1

function invalid (message) {
  return new errors.KafkaJSNonRetriableError(message)
}

const key = (topic, partition) => `${topic}\u0000${partition}`

function setting (settings, name, value) {
  if (value === undefined || value === null) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`Invalid ${name}: expected a non-negative number, not ${JSON.stringify(value)}`)
  }
  settings.push([name, String(Math.floor(value))])
}

function message (record) {
  const headers = {}
  for (const { key, value } of record.headers) {
    const v = value === undefined ? null : value
    if (key in headers) headers[key] = [].concat(headers[key], v)
    else headers[key] = v
  }
  return {
    key: record.key === undefined ? null : record.key,
    value: record.value === undefined ? null : record.value,
    timestamp: String(record.timestamp),
    attributes: 0,
    offset: String(record.offset),
    headers,
    size: 0
  }
}

class Consumer {
  /**
   * @param kafka the Kafka client
   * @param {object} options `groupId` (required), `sessionTimeout`, `rebalanceTimeout`,
   *   `heartbeatInterval`, `maxWaitTimeInMs` (ms); `maxBytesPerPartition`, `minBytes`,
   *   `maxBytes` (bytes); `allowAutoTopicCreation` (the group leader asks for missing
   *   topics when the broker allows it). Throws KafkaJSNonRetriableError for bad values.
   */
  constructor (kafka, options = {}) {
    const {
      groupId, sessionTimeout, rebalanceTimeout, heartbeatInterval, maxBytesPerPartition,
      minBytes, maxBytes, maxWaitTimeInMs, allowAutoTopicCreation, readUncommitted = false
    } = options
    if (typeof groupId !== 'string' || groupId === '') {
      throw invalid('Consumer groupId must be a non-empty string.')
    }
    if (allowAutoTopicCreation !== undefined && typeof allowAutoTopicCreation !== 'boolean') {
      throw invalid('allowAutoTopicCreation must be a boolean')
    }
    const settings = [...kafka.settings, ['group.id', groupId], ['enable.auto.commit', 'false']]
    setting(settings, 'session.timeout.ms', sessionTimeout)
    setting(settings, 'max.poll.interval.ms', rebalanceTimeout)
    setting(settings, 'heartbeat.interval.ms', heartbeatInterval)
    setting(settings, 'max.partition.fetch.bytes', maxBytesPerPartition)
    setting(settings, 'fetch.min.bytes', minBytes)
    setting(settings, 'fetch.max.bytes', maxBytes)
    setting(settings, 'fetch.max.wait.ms', maxWaitTimeInMs)
    settings.push(['isolation.level', readUncommitted ? 'read_uncommitted' : 'read_committed'])
    // Checked now, as KafkaJS checks its options in the constructor.
    errors.convertedSync(() => new native.Consumer([...settings, ['auto.offset.reset', 'latest']]))
    this.kafka = kafka
    this.groupId = groupId
    this.settings = settings
    this.topics = []
    this.fromBeginning = false
    this.native = null
    this.running = false
    this.loop = null
    this.resolved = new Map() // key -> { topic, partition, offset } next offset to read
    this.committed = new Map() // key -> offset committed
    this.uncommitted = 0
    this.lastCommit = Date.now()
    this.pausedTopics = new Set()
    this.pausedPartitions = new Set()
    this.pendingSeeks = new Map()
    this.generation = new Map() // key -> bumped by seek and revocation: stale batches
    this.instrumentation = new Instrumentation(events)
    this.events = events
  }

  /** Checks that a broker answers; rejects with KafkaJSConnectionError otherwise. */
  async connect () {
    await errors.converted(new native.Admin(this.kafka.settings).metadata([]))
    this.instrumentation.emit(events.CONNECT)
  }

  /**
   * Subscribes to `topic` or `topics` (strings or RegExps); `fromBeginning` starts
   * partitions without a committed offset at the start of the log (one policy per
   * consumer: the earliest wins if subscriptions differ). Before `run` only.
   */
  async subscribe ({ topic, topics, fromBeginning = false } = {}) {
    if (this.running) throw invalid('Cannot subscribe to topic while consumer is running')
    const list = topics !== undefined ? topics : topic !== undefined ? [topic] : undefined
    if (list === undefined) throw invalid('Missing required argument "topics"')
    if (!Array.isArray(list)) throw invalid('Argument "topics" must be an array')
    for (const t of list) {
      if (t instanceof RegExp) this.topics.push(`^${t.source}`)
      else if (typeof t === 'string' && t !== '') this.topics.push(t)
      else throw invalid(`Invalid topic ${t} (${typeof t}), the topic name has to be a String or a RegExp`)
    }
    this.fromBeginning = this.fromBeginning || fromBeginning
  }

  /**
   * Starts consuming: `eachMessage({ topic, partition, message, heartbeat, pause })` or
   * `eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary,
   * uncommittedOffsets, isRunning, isStale, pause })`; `autoCommit` (default true),
   * `autoCommitInterval` (ms), `autoCommitThreshold` (records),
   * `eachBatchAutoResolve` (default true), `partitionsConsumedConcurrently` (default 1).
   * Resolves once the loop is started; a failure of the loop is reported as CRASH.
   */
  async run (options = {}) {
    const {
      eachMessage, eachBatch, autoCommit = true, autoCommitInterval = null,
      autoCommitThreshold = null, eachBatchAutoResolve = true, partitionsConsumedConcurrently = 1
    } = options
    if (this.running) return
    if (!eachMessage && !eachBatch) throw invalid('Consumer requires either eachMessage or eachBatch')
    if (this.topics.length === 0) throw invalid('Consumer must subscribe before run')
    if (!Number.isInteger(partitionsConsumedConcurrently) || partitionsConsumedConcurrently < 1) {
      throw invalid('partitionsConsumedConcurrently must be a positive integer')
    }
    this.options = { eachMessage, eachBatch, autoCommit, autoCommitInterval, autoCommitThreshold, eachBatchAutoResolve, partitionsConsumedConcurrently }
    if (!this.native) {
      this.native = errors.convertedSync(() => new native.Consumer([
        ...this.settings, ['auto.offset.reset', this.fromBeginning ? 'earliest' : 'latest']
      ]))
      this.native.onRebalance((_, kind, partitions, done) => {
        this.rebalanced(kind, partitions).finally(done)
      })
    }
    errors.convertedSync(() => this.native.subscribe(this.topics))
    this.running = true
    this.loop = this.consume()
  }

  // The rebalance waits for the returned Promise: seeks and pauses apply before the
  // assigned partitions are fetched, and revoked ones are committed before they move.
  async rebalanced (kind, partitions) {
    if (kind === 'assigned') {
      for (const { topic, partition } of partitions) {
        const k = key(topic, partition)
        const seek = this.pendingSeeks.get(k)
        if (seek !== undefined) {
          this.native.seek(topic, partition, seek)
          this.pendingSeeks.delete(k)
        }
        if (this.pausedTopics.has(topic) || this.pausedPartitions.has(k)) {
          this.native.pause([{ topic, partition }])
        }
      }
      const memberAssignment = {}
      for (const { topic, partition } of this.native.assignment()) {
        (memberAssignment[topic] = memberAssignment[topic] || []).push(partition)
      }
      this.instrumentation.emit(events.GROUP_JOIN, {
        groupId: this.groupId, memberAssignment, groupProtocol: 'range', isLeader: false, memberId: '', leaderId: '', duration: 0
      })
    } else {
      this.instrumentation.emit(events.REBALANCING, { groupId: this.groupId, memberId: '' })
      const revoked = partitions.map(({ topic, partition }) => key(topic, partition))
      for (const k of revoked) this.generation.set(k, (this.generation.get(k) || 0) + 1)
      if (kind === 'revoked' && this.options.autoCommit) {
        await this.commitResolved(revoked).catch(() => {})
      }
      for (const k of revoked) this.resolved.delete(k)
    }
  }

  async consume () {
    while (this.running) {
      let records
      try {
        records = await this.native.pollBatch(BATCH, POLL_WAIT)
      } catch (e) {
        const error = errors.fromNative(e)
        this.instrumentation.emit(events.CRASH, { error, groupId: this.groupId, restart: error.retriable })
        if (!error.retriable) {
          this.running = false
          break
        }
        continue
      }
      try {
        if (records.length > 0) await this.process(records)
        await this.commitOffsetsIfNecessary()
      } catch (error) {
        // As KafkaJS: a retriable error (a commit while the broker restarts) restarts the
        // loop; any other error, or one the application threw, stops it.
        const restart = Boolean(error && error.retriable)
        this.instrumentation.emit(events.CRASH, { error, groupId: this.groupId, restart })
        if (!restart) this.running = false
      }
    }
  }

  async process (records) {
    const byPartition = new Map()
    for (const record of records) {
      const k = key(record.topic, record.partition)
      let list = byPartition.get(k)
      if (!list) byPartition.set(k, (list = []))
      list.push(record)
    }
    const work = [...byPartition.values()]
    const concurrency = this.options.partitionsConsumedConcurrently
    const next = async () => {
      while (work.length > 0 && this.running) await this.processPartition(work.shift())
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, next))
  }

  isPaused (topic, partition) {
    return this.pausedTopics.has(topic) || this.pausedPartitions.has(key(topic, partition))
  }

  async processPartition (records) {
    const { topic, partition } = records[0]
    const k = key(topic, partition)
    const generation = this.generation.get(k) || 0
    const isStale = () => (this.generation.get(k) || 0) !== generation
    const resolveOffset = offset => {
      if (isStale()) return
      this.resolved.set(k, { topic, partition, offset: Number(offset) + 1 })
      this.uncommitted++
    }
    // The core heartbeats the group in the background, so KafkaJS's heartbeat() has
    // nothing left to do.
    const heartbeat = async () => {}
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }])
      return () => this.resume([{ topic, partitions: [partition] }])
    }
    let delivered = 0
    if (this.isPaused(topic, partition)) {
      // Records buffered before the pause: read them again after resume.
    } else if (this.options.eachBatch) {
      const messages = records.map(message)
      const last = messages[messages.length - 1].offset
      const batch = {
        topic,
        partition,
        highWatermark: String(Number(last) + 1),
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => messages[0].offset,
        lastOffset: () => last,
        offsetLag: () => '0',
        offsetLagLow: () => '0'
      }
      this.instrumentation.emit(events.START_BATCH_PROCESS, { topic, partition, batchSize: messages.length })
      await this.options.eachBatch({
        batch,
        resolveOffset,
        heartbeat,
        pause,
        commitOffsetsIfNecessary: offsets => this.commitOffsetsIfNecessary(offsets),
        uncommittedOffsets: () => this.uncommittedOffsets(),
        isRunning: () => this.running,
        isStale
      })
      if (this.options.eachBatchAutoResolve && !isStale()) resolveOffset(last)
      this.instrumentation.emit(events.END_BATCH_PROCESS, { topic, partition, batchSize: messages.length })
      delivered = records.length
    } else {
      for (const record of records) {
        if (!this.running || isStale() || this.isPaused(topic, partition)) break
        await this.options.eachMessage({ topic, partition, message: message(record), heartbeat, pause })
        resolveOffset(record.offset)
        delivered++
      }
    }
    if (delivered < records.length && !isStale()) {
      // Not handed out (paused or stopped): the core reads them again from there.
      const entry = this.resolved.get(k)
      const from = delivered > 0 ? records[delivered].offset : records[0].offset
      this.native.seek(topic, partition, entry && entry.offset > from ? entry.offset : from)
      this.generation.set(k, generation + 1)
    }
  }

  uncommittedOffsets () {
    const topics = {}
    for (const [k, { topic, partition, offset }] of this.resolved) {
      if (this.committed.get(k) === offset) continue
      (topics[topic] = topics[topic] || []).push({ partition, offset: String(offset) })
    }
    return { topics: Object.entries(topics).map(([topic, partitions]) => ({ topic, partitions })) }
  }

  async commitResolved (keys) {
    const offsets = []
    for (const k of keys || this.resolved.keys()) {
      const entry = this.resolved.get(k)
      if (entry && this.committed.get(k) !== entry.offset) offsets.push(entry)
    }
    if (offsets.length === 0) return
    await errors.converted(this.native.commit(offsets))
    for (const o of offsets) this.committed.set(key(o.topic, o.partition), o.offset)
    this.uncommitted = 0
    this.lastCommit = Date.now()
    this.instrumentation.emit(events.COMMIT_OFFSETS, {
      groupId: this.groupId,
      topics: this.uncommittedOffsets().topics
    })
  }

  /** Commits the resolved offsets when `autoCommit` and its interval or threshold say so. */
  async commitOffsetsIfNecessary () {
    const { autoCommit, autoCommitInterval, autoCommitThreshold } = this.options || {}
    if (!autoCommit || !this.native) return
    const always = !autoCommitInterval && !autoCommitThreshold
    const due = (autoCommitInterval && Date.now() - this.lastCommit >= autoCommitInterval) ||
      (autoCommitThreshold && this.uncommitted >= autoCommitThreshold)
    if (always || due) await this.commitResolved()
  }

  /**
   * Commits `[{ topic, partition, offset }]` (offset: the next to read, a string or
   * number). Rejects with KafkaJSProtocolError (REBALANCE_IN_PROGRESS, ...).
   */
  async commitOffsets (offsets) {
    if (!Array.isArray(offsets)) throw invalid('commitOffsets expects an array of { topic, partition, offset }')
    if (!this.native) throw invalid('Consumer group was not initialized, consumer#run must be called first')
    const list = offsets.map(({ topic, partition, offset }) => {
      if (typeof topic !== 'string' || !Number.isInteger(partition)) throw invalid(`Invalid topic-partition ${topic}/${partition}`)
      const next = Number(offset)
      if (!Number.isInteger(next) || next < 0) throw invalid(`Invalid offset ${offset}`)
      return { topic, partition, offset: next }
    })
    await errors.converted(this.native.commit(list))
    for (const o of list) this.committed.set(key(o.topic, o.partition), o.offset)
  }

  /** Moves `{ topic, partition }` to `offset` (a string or number) for the next fetch. */
  seek ({ topic, partition, offset } = {}) {
    if (typeof topic !== 'string' || topic === '') throw invalid(`Invalid topic ${topic}`)
    if (!Number.isInteger(partition)) throw invalid(`Invalid partition, expected a number received ${partition}`)
    const next = Number(offset)
    if (offset === undefined || offset === null || !Number.isInteger(next)) {
      throw invalid(`Invalid offset, expected a long received ${offset}`)
    }
    // KafkaJS's special offsets: -2 the earliest, -1 the latest.
    if (next < 0 && next !== EARLIEST && next !== LATEST) throw invalid('Offset must not be a negative number')
    if (!this.native) throw invalid('Consumer group was not initialized, consumer#run must be called first')
    const k = key(topic, partition)
    this.generation.set(k, (this.generation.get(k) || 0) + 1)
    const assigned = this.native.assignment().some(tp => tp.topic === topic && tp.partition === partition)
    if (assigned) this.native.seek(topic, partition, next)
    else this.pendingSeeks.set(k, next)
    if (this.options.autoCommit && next >= 0) this.resolved.set(k, { topic, partition, offset: next })
  }

  targets (topicPartitions, verb) {
    if (!Array.isArray(topicPartitions)) throw invalid(`${verb} expects an array of { topic, partitions }`)
    return topicPartitions.map(({ topic, partitions }) => {
      if (typeof topic !== 'string' || topic === '') throw invalid(`Invalid topic ${topic}`)
      if (partitions !== undefined && !(Array.isArray(partitions) && partitions.every(Number.isInteger))) {
        throw invalid(`Invalid partitions for topic ${topic}`)
      }
      return { topic, partitions }
    })
  }

  affected (topic, partitions) {
    const assigned = this.native ? this.native.assignment().filter(tp => tp.topic === topic) : []
    return partitions ? partitions.map(partition => ({ topic, partition })) : assigned
  }

  /** Stops fetching `[{ topic, partitions? }]` (every partition of the topic without them). */
  pause (topicPartitions) {
    for (const { topic, partitions } of this.targets(topicPartitions, 'pause')) {
      if (partitions) partitions.forEach(p => this.pausedPartitions.add(key(topic, p)))
      else this.pausedTopics.add(topic)
      if (this.native) this.native.pause(this.affected(topic, partitions))
    }
  }

  /** Fetches `[{ topic, partitions? }]` again. */
  resume (topicPartitions) {
    for (const { topic, partitions } of this.targets(topicPartitions, 'resume')) {
      if (partitions) partitions.forEach(p => this.pausedPartitions.delete(key(topic, p)))
      else {
        this.pausedTopics.delete(topic)
        for (const k of [...this.pausedPartitions]) if (k.startsWith(`${topic}\u0000`)) this.pausedPartitions.delete(k)
      }
      if (this.native) this.native.resume(this.affected(topic, partitions))
    }
  }

  /** The paused partitions: `[{ topic, partitions }]`. */
  paused () {
    const topics = {}
    const assigned = this.native ? this.native.assignment() : []
    for (const { topic, partition } of assigned) {
      if (this.isPaused(topic, partition)) (topics[topic] = topics[topic] || []).push(partition)
    }
    for (const k of this.pausedPartitions) {
      const [topic, p] = k.split('\u0000')
      const list = (topics[topic] = topics[topic] || [])
      if (!list.includes(Number(p))) list.push(Number(p))
    }
    return Object.entries(topics).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
  }

  /** Stops the `run` loop after the message or batch in hand, committing resolved offsets. */
  async stop () {
    if (!this.running && !this.loop) return
    this.running = false
    await this.loop
    this.loop = null
    if (this.options.autoCommit) await this.commitResolved().catch(() => {})
    this.instrumentation.emit(events.STOP)
  }

  /** Stops and leaves the group. */
  async disconnect () {
    await this.stop()
    if (this.native) {
      const consumer = this.native
      this.native = null
      await errors.converted(consumer.close())
    }
    this.instrumentation.emit(events.DISCONNECT)
  }

  /** The group as `admin.describeGroups` gives it. */
  async describeGroup () {
    const { groups } = await this.kafka.admin().describeGroups([this.groupId])
    return groups[0]
  }

  /** KafkaJS instrumentation: `consumer.on(consumer.events.GROUP_JOIN, listener)`. */
  on (eventName, listener) {
    return this.instrumentation.on(eventName, listener)
  }
}

module.exports = { Consumer }
