'use strict'
// KafkaJS's admin client over the core's. Per-item failures become KafkaJS's errors:
// the first failing item's KafkaJSProtocolError, or KafkaJSDeleteGroupsError /
// KafkaJSDeleteTopicRecordsError where KafkaJS has those.
const native = require('./native')
const errors = require('./errors')

const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 }
const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6
}

function invalid (message) {
  return new errors.KafkaJSNonRetriableError(message)
}

function topicName (topic) {
  if (typeof topic !== 'string' || topic === '') throw invalid(`Invalid topic ${topic}`)
  return topic
}

/** Throws the first per-item error, skipping those `ignore` names (Kafka error names). */
function check (results, ignore = []) {
  const failed = results.find(r => r.error && !ignore.includes(r.error.type))
  if (failed) throw errors.fromNative(failed.error)
}

class Admin {
  constructor (kafka) {
    this.native = errors.convertedSync(() => new native.Admin(kafka.settings))
  }

  /** Checks that a broker answers; rejects with KafkaJSConnectionError otherwise. */
  async connect () {
    await this.call(a => a.metadata([]))
  }

  async disconnect () {}

  call (fn) {
    return errors.converted(fn(this.native))
  }

  /**
   * Creates `topics: [{ topic, numPartitions, replicationFactor, configEntries }]`;
   * resolves to true if all were created, false if some already existed; rejects with
   * KafkaJSAggregateError of KafkaJSCreateTopicError for the others.
   */
  async createTopics ({ topics, validateOnly = false } = {}) {
    if (!Array.isArray(topics)) throw invalid(`Invalid topics array ${topics}`)
    const list = topics.map(t => ({
      topic: topicName(t && t.topic),
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      configEntries: (t.configEntries || []).map(({ name, value }) => ({ name, value: String(value) }))
    }))
    const results = await this.call(a => a.createTopics(list, validateOnly))
    const failed = results.filter(r => r.error && r.error.type !== 'TOPIC_ALREADY_EXISTS')
    if (failed.length > 0) {
      throw new errors.KafkaJSAggregateError('Topic creation errors',
        failed.map(r => new errors.KafkaJSCreateTopicError(r.error, r.name)))
    }
    return !results.some(r => r.error)
  }

  /** Deletes `topics`. */
  async deleteTopics ({ topics } = {}) {
    if (!Array.isArray(topics)) throw invalid(`Invalid topics array ${topics}`)
    check(await this.call(a => a.deleteTopics(topics.map(topicName))))
  }

  /** Grows topics to `topicPartitions: [{ topic, count }]` partitions. */
  async createPartitions ({ topicPartitions, validateOnly = false } = {}) {
    if (!Array.isArray(topicPartitions)) throw invalid(`Invalid topic partitions array ${topicPartitions}`)
    const totals = topicPartitions.map(({ topic, count }) => ({ topic: topicName(topic), count }))
    check(await this.call(a => a.createPartitions(totals, validateOnly)))
  }

  /** The topic names. */
  listTopics () {
    return this.call(a => a.listTopics())
  }

  /** `{ topics: [{ name, partitions: [{ partitionErrorCode, partitionId, leader, replicas, isr, offlineReplicas }] }] }`. */
  async fetchTopicMetadata ({ topics } = {}) {
    if (topics !== undefined && !Array.isArray(topics)) throw invalid(`Invalid topics array ${topics}`)
    const cluster = await this.call(a => a.metadata(topics ? topics.map(topicName) : null))
    const wanted = cluster.topics.filter(t => !t.isInternal || topics)
    const failed = wanted.find(t => t.error)
    if (failed) throw errors.fromNative(failed.error)
    return {
      topics: wanted.map(t => ({
        name: t.name,
        partitions: t.partitions.map(p => ({
          partitionErrorCode: p.partitionErrorCode,
          partitionId: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: []
        }))
      }))
    }
  }

  async partitionsOf (topic) {
    const { topics } = await this.fetchTopicMetadata({ topics: [topicName(topic)] })
    return topics[0].partitions.map(p => p.partitionId).sort((a, b) => a - b)
  }

  async offsets (topic, spec, timestamp) {
    const partitions = await this.partitionsOf(topic)
    const results = await this.call(a => a.listOffsets(partitions.map(partition => ({ topic, partition, spec, timestamp }))))
    check(results)
    return new Map(results.map(r => [r.partition, r.offset]))
  }

  /** `[{ partition, offset, high, low }]` (offset and high the high watermark, as strings). */
  async fetchTopicOffsets (topic) {
    const [high, low] = [await this.offsets(topic, 'latest'), await this.offsets(topic, 'earliest')]
    return [...high.keys()].sort((a, b) => a - b).map(partition => ({
      partition, offset: String(high.get(partition)), high: String(high.get(partition)), low: String(low.get(partition))
    }))
  }

  /** `[{ partition, offset }]`: the first offset at or after `timestamp` (ms), or the high watermark. */
  async fetchTopicOffsetsByTimestamp (topic, timestamp) {
    if (timestamp === undefined) return (await this.fetchTopicOffsets(topic)).map(({ partition, offset }) => ({ partition, offset }))
    const [found, high] = [await this.offsets(topic, 'timestamp', Number(timestamp)), await this.offsets(topic, 'latest')]
    return [...found.keys()].sort((a, b) => a - b).map(partition => ({
      partition, offset: String(found.get(partition) >= 0 ? found.get(partition) : high.get(partition))
    }))
  }

  /**
   * The group's committed offsets: `[{ topic, partitions: [{ partition, offset, metadata }] }]`
   * for `topics` (every partition of each; '-1' where none), or every topic it has.
   * `resolveOffsets` turns '-1' into the high watermark... as KafkaJS does for earliest/latest resets.
   */
  async fetchOffsets ({ groupId, topics, resolveOffsets = false } = {}) {
    if (typeof groupId !== 'string' || !groupId) throw invalid(`Invalid groupId ${groupId}`)
    if (topics !== undefined && !Array.isArray(topics)) throw invalid(`Expected topic or topics array to be set`)
    let partitions = null
    if (topics) {
      partitions = []
      for (const topic of topics) {
        for (const partition of await this.partitionsOf(topic)) partitions.push({ topic, partition })
      }
    }
    const found = await this.call(a => a.listGroupOffsets(groupId, partitions))
    const byTopic = new Map((topics || []).map(t => [t, []]))
    for (const r of found) {
      if (!byTopic.has(r.topic)) byTopic.set(r.topic, [])
      byTopic.get(r.topic).push({ partition: r.partition, offset: String(r.offset), metadata: r.metadata ?? null })
    }
    const result = []
    for (const [topic, list] of byTopic) {
      list.sort((a, b) => a.partition - b.partition)
      if (resolveOffsets) {
        const high = await this.offsets(topic, 'latest')
        for (const p of list) if (p.offset === '-1') p.offset = String(high.get(p.partition))
      }
      result.push({ topic, partitions: list })
    }
    return result
  }

  /** Commits `partitions: [{ partition, offset }]` of `topic` for a group with no active members. */
  async setOffsets ({ groupId, topic, partitions } = {}) {
    if (typeof groupId !== 'string' || !groupId) throw invalid(`Invalid groupId ${groupId}`)
    if (!Array.isArray(partitions)) throw invalid('Invalid partitions')
    const offsets = partitions.map(({ partition, offset }) => ({ topic: topicName(topic), partition, offset: Number(offset) }))
    check(await this.call(a => a.alterGroupOffsets(groupId, offsets)))
  }

  /** Sets the group's offsets of `topic` to the start (`earliest`) or end of each partition. */
  async resetOffsets ({ groupId, topic, earliest = false } = {}) {
    const offsets = await this.offsets(topicName(topic), earliest ? 'earliest' : 'latest')
    await this.setOffsets({
      groupId, topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset }))
    })
  }

  /** `{ resources: [{ errorCode, errorMessage, resourceType, resourceName, configEntries }], throttleTime }`. */
  async describeConfigs ({ resources } = {}) {
    if (!Array.isArray(resources)) throw invalid('Invalid resources array')
    const results = await this.call(a => a.describeConfigs(resources.map(r => ({ resourceType: r.type, resourceName: String(r.name) }))))
    check(results)
    return {
      throttleTime: 0,
      resources: results.map((r, i) => {
        const names = resources[i].configNames
        return {
          errorCode: 0,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configEntries: r.entries.filter(e => !names || names.length === 0 || names.includes(e.name)).map(e => ({
            configName: e.name,
            configValue: e.value ?? null,
            readOnly: e.readOnly,
            isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
            configSource: e.source,
            isSensitive: e.isSensitive,
            configSynonyms: []
          }))
        }
      })
    }
  }

  /**
   * Sets `configEntries: [{ name, value }]` of each resource (as IncrementalAlterConfigs
   * SET: keys not named keep their values). Resolves to `{ resources, throttleTime }`.
   */
  async alterConfigs ({ resources, validateOnly = false } = {}) {
    if (!Array.isArray(resources)) throw invalid('Invalid resources array')
    const list = resources.map(r => ({
      resourceType: r.type,
      resourceName: String(r.name),
      configEntries: (r.configEntries || []).map(({ name, value }) => ({ name, value: String(value) }))
    }))
    const results = await this.call(a => a.alterConfigs(list, validateOnly))
    check(results)
    return {
      throttleTime: 0,
      resources: results.map(r => ({ errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName }))
    }
  }

  /** `{ groups: [{ groupId, protocolType }] }`. */
  async listGroups () {
    const groups = await this.call(a => a.listGroups())
    return { groups: groups.map(g => ({ groupId: g.groupId, protocolType: g.protocolType })) }
  }

  /**
   * `{ groups: [{ errorCode, groupId, members, protocol, protocolType, state }] }`;
   * members carry `assignment: [{ topic, partition }]` decoded (and no raw
   * memberMetadata / memberAssignment).
   */
  async describeGroups (groupIds) {
    if (!Array.isArray(groupIds)) throw invalid('Invalid groupIds array')
    const results = await this.call(a => a.describeGroups(groupIds))
    check(results)
    return {
      groups: results.map(g => ({
        errorCode: 0,
        groupId: g.groupId,
        protocol: g.protocol,
        protocolType: g.protocolType,
        state: g.state,
        members: g.members.map(m => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          groupInstanceId: m.groupInstanceId ?? null,
          assignment: m.assignment
        }))
      }))
    }
  }

  /** Deletes groups; resolves to `[{ groupId, errorCode }]`, rejects with KafkaJSDeleteGroupsError. */
  async deleteGroups (groupIds) {
    if (!Array.isArray(groupIds)) throw invalid('Invalid groupIds array')
    const results = await this.call(a => a.deleteGroups(groupIds))
    const groups = results.map(r => ({
      groupId: r.name, errorCode: r.error ? r.error.code : 0, error: r.error ? errors.fromNative(r.error) : undefined
    }))
    if (groups.some(g => g.error)) throw new errors.KafkaJSDeleteGroupsError('Error in DeleteGroups', groups.filter(g => g.error))
    return groups.map(({ groupId, errorCode }) => ({ groupId, errorCode }))
  }

  /** Deletes records of `topic` before each `{ partition, offset }` ('-1': the high watermark). */
  async deleteTopicRecords ({ topic, partitions } = {}) {
    if (!Array.isArray(partitions)) throw invalid('Invalid partitions')
    let high = null
    const before = []
    for (const { partition, offset } of partitions) {
      let at = Number(offset)
      if (at === -1) at = (high = high || await this.offsets(topicName(topic), 'latest')).get(partition)
      before.push({ topic: topicName(topic), partition, offset: at })
    }
    const results = await this.call(a => a.deleteRecords(before))
    const failed = results.filter(r => r.error)
    if (failed.length > 0) {
      throw new errors.KafkaJSDeleteTopicRecordsError({
        partitions: failed.map(r => ({ partition: r.partition, offset: String(before.find(b => b.partition === r.partition).offset), error: errors.fromNative(r.error) }))
      })
    }
  }

  /** `{ brokers: [{ nodeId, host, port }], controller, clusterId }`. */
  async describeCluster () {
    const c = await this.call(a => a.describeCluster())
    return { brokers: c.brokers, controller: c.controller, clusterId: c.clusterId }
  }
}

module.exports = { Admin, ConfigResourceTypes, ConfigSource }
