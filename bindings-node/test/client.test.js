'use strict'
// The client API against a real broker over sockets. The same file runs with KafkaJS
// (TIDELOG_TEST_CLIENT=kafkajs) against the tidelog broker; tests of what only tidelog
// has are skipped then.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { client, isTidelog, unique, startBroker, eventually, kafkaFor } = require('./support')

let broker
let kafka
let admin

before(async () => {
  broker = await startBroker()
  kafka = kafkaFor(broker)
  admin = kafka.admin()
  await admin.connect()
})

after(async () => {
  await admin.disconnect()
  await broker.stop()
})

async function createTopic (numPartitions = 3) {
  const topic = unique('topic')
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }] }), true)
  return topic
}

/** Runs `consumer` with eachMessage until `count` messages came; returns them. */
async function consume (consumer, count, options = {}) {
  const messages = []
  await consumer.run({
    ...options,
    eachMessage: async payload => {
      messages.push(payload)
      if (options.eachMessage) await options.eachMessage(payload)
    }
  })
  await eventually(() => messages.length >= count, 20000, `${count} messages (got ${messages.length})`)
  return messages
}

test('send resolves to per-partition metadata and eachMessage gets the records back', async () => {
  const topic = await createTopic(3)
  const producer = kafka.producer()
  await producer.connect()
  const sent = await producer.send({
    topic,
    messages: [
      { key: 'k1', value: 'v1', partition: 0, headers: { h: 'x' } },
      { key: Buffer.from('k2'), value: Buffer.from('v2'), partition: 0, timestamp: '1700000000000' },
      { value: 'v3', partition: 2 }
    ]
  })
  sent.sort((a, b) => a.partition - b.partition)
  assert.deepEqual(sent.map(r => [r.topicName, r.partition, r.errorCode, r.baseOffset]), [[topic, 0, 0, '0'], [topic, 2, 0, '0']])
  const batch = await producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'v4', partition: 1 }] }] })
  assert.equal(batch[0].partition, 1)
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: unique('group'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const got = await consume(consumer, 4)
  await consumer.disconnect()
  const byValue = Object.fromEntries(got.map(m => [m.message.value.toString(), m]))
  assert.equal(byValue.v1.partition, 0)
  assert.equal(byValue.v1.message.offset, '0')
  assert.ok(Buffer.isBuffer(byValue.v1.message.key))
  assert.equal(byValue.v1.message.key.toString(), 'k1')
  assert.equal(byValue.v1.message.headers.h.toString(), 'x')
  assert.equal(byValue.v2.message.offset, '1')
  assert.equal(byValue.v2.message.timestamp, '1700000000000')
  assert.equal(byValue.v3.message.key, null)
  assert.equal(byValue.v4.partition, 1)
})

test('sendBatch keeps each record whole across topics: null and empty keys and values, repeated headers', async () => {
  const [first, second] = [await createTopic(1), await createTopic(2)]
  const producer = kafka.producer()
  await producer.connect()
  const sent = await producer.sendBatch({
    topicMessages: [
      { topic: first, messages: [{ value: 'plain' }, { key: '', value: '', headers: { h: ['1', '2'], e: '' } }] },
      { topic: second, messages: [{ key: 'k', value: null, partition: 1 }, { key: 'k2', value: 'last', partition: 0 }] }
    ]
  })
  assert.deepEqual(sent.map(r => [r.topicName, r.partition]).sort(), [[first, 0], [second, 0], [second, 1]].sort())
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: unique('group'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topics: [first, second], fromBeginning: true })
  const got = await consume(consumer, 4)
  await consumer.disconnect()
  const at = (topic, partition, offset) =>
    got.find(m => m.topic === topic && m.partition === partition && m.message.offset === offset).message
  assert.equal(at(first, 0, '0').key, null)
  assert.equal(at(first, 0, '0').value.toString(), 'plain')
  const whole = at(first, 0, '1')
  assert.equal(whole.key.length, 0)
  assert.equal(whole.value.length, 0)
  assert.deepEqual(whole.headers.h.map(String), ['1', '2'])
  assert.equal(whole.headers.e.length, 0)
  assert.equal(at(second, 1, '0').key.toString(), 'k')
  assert.equal(at(second, 1, '0').value, null)
  assert.equal(at(second, 0, '0').value.toString(), 'last')
  assert.deepEqual(at(second, 0, '0').headers, {})
})

test('the default partitioner places keys as the Java client does (murmur2)', async () => {
  const topic = await createTopic(6)
  const producer = kafka.producer({ createPartitioner: client.Partitioners.DefaultPartitioner })
  await producer.connect()
  // Where kafka-clients puts these keys among 6 partitions (conformance/data/partitions-6.tsv).
  const table = fs.readFileSync(path.join(__dirname, '../../conformance/data/partitions-6.tsv'), 'utf8')
  const expected = table.split('\n').filter(l => l && !l.startsWith('#')).map(l => l.split('\t'))
  assert.ok(expected.length >= 5)
  for (const [key, partition] of expected) {
    const [meta] = await producer.send({ topic, messages: [{ key, value: 'x' }] })
    assert.equal(meta.partition, Number(partition), `key ${key}`)
  }
  await producer.disconnect()
})

test('a group of 3 consumers splits the partitions and rebalances when one leaves', async () => {
  const topic = await createTopic(6)
  const groupId = unique('group')
  const consumers = [0, 1, 2].map(() => kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10000, heartbeatInterval: 500 }))
  const assignments = new Map()
  const seen = new Set()
  for (const [i, consumer] of consumers.entries()) {
    consumer.on(consumer.events.GROUP_JOIN, e => assignments.set(i, e.payload.memberAssignment[topic] || []))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value.toString()) } })
  }
  await eventually(() => {
    const all = [...assignments.values()].flat()
    return assignments.size === 3 && all.length === 6 && new Set(all).size === 6 &&
      [...assignments.values()].every(list => list.length === 2)
  }, 30000, 'three members with two partitions each')
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ value: `m${i}`, partition: i % 6 })) })
  await eventually(() => seen.size === 60, 20000, 'all 60 messages')

  const rebalancing = []
  consumers[0].on(consumers[0].events.REBALANCING, e => rebalancing.push(e))
  await consumers[2].disconnect()
  await eventually(() => {
    const lists = [assignments.get(0), assignments.get(1)]
    return lists.every(l => l.length === 3) && new Set(lists.flat()).size === 6
  }, 30000, 'two members with three partitions each')
  assert.ok(rebalancing.length > 0, 'REBALANCING was emitted')
  await producer.send({ topic, messages: Array.from({ length: 12 }, (_, i) => ({ value: `n${i}`, partition: i % 6 })) })
  await eventually(() => seen.size === 72, 20000, 'the 12 sent after the rebalance')
  const group = await consumers[0].describeGroup()
  assert.equal(group.groupId, groupId)
  assert.equal(group.members.length, 2)
  await producer.disconnect()
  await Promise.all(consumers.slice(0, 2).map(c => c.disconnect()))
})

test('eachBatch with manual resolveOffset commits only what was resolved', async () => {
  const topic = await createTopic(1)
  const groupId = unique('group')
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) })
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let handled = 0
  const calls = []
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      calls.push({ running: isRunning(), stale: isStale() })
      for (const message of batch.messages) {
        if (Number(message.offset) >= 6) break
        resolveOffset(message.offset)
        handled++
        await heartbeat()
      }
      await commitOffsetsIfNecessary()
    }
  })
  await eventually(() => handled >= 6, 20000, 'six resolved')
  await consumer.disconnect()
  assert.deepEqual(calls[0], { running: true, stale: false })
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  assert.deepEqual(offsets.map(t => [t.topic, t.partitions.map(p => [p.partition, p.offset])]), [[topic, [[0, '6']]]])

  // A new member of the group starts where the commit left off.
  const again = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  await again.connect()
  await again.subscribe({ topic })
  const rest = await consume(again, 4)
  await again.disconnect()
  assert.equal(rest[0].message.offset, '6')
  await producer.disconnect()
})

test('pause stops a partition, resume continues from where it stopped; paused() lists it', async () => {
  const topic = await createTopic(2)
  const producer = kafka.producer()
  await producer.connect()
  const consumer = kafka.consumer({ groupId: unique('group'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push([partition, message.value.toString()]) } })
  await producer.send({ topic, messages: [{ value: 'a0', partition: 0 }, { value: 'b0', partition: 1 }] })
  await eventually(() => got.length === 2, 20000, 'first two')
  consumer.pause([{ topic, partitions: [0] }])
  assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }])
  await producer.send({ topic, messages: [{ value: 'a1', partition: 0 }, { value: 'b1', partition: 1 }] })
  await eventually(() => got.some(([, v]) => v === 'b1'), 20000, 'b1')
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.ok(!got.some(([, v]) => v === 'a1'), 'a paused partition is not consumed')
  consumer.resume([{ topic, partitions: [0] }])
  await eventually(() => got.some(([, v]) => v === 'a1'), 20000, 'a1 after resume')
  assert.deepEqual(consumer.paused(), [])
  await consumer.disconnect()
  await producer.disconnect()
})

test('seek moves a partition and commitOffsets stores offsets', async () => {
  const topic = await createTopic(1)
  const groupId = unique('group')
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })) })
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = await consume(consumer, 5, { autoCommit: false })
  consumer.seek({ topic, partition: 0, offset: '3' })
  await eventually(() => got.length >= 7, 20000, 'two again after seek')
  assert.deepEqual(got.slice(5, 7).map(m => m.message.offset), ['3', '4'])
  await consumer.commitOffsets([{ topic, partition: 0, offset: '2' }])
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  assert.equal(offsets[0].partitions[0].offset, '2')
  await consumer.stop()
  await consumer.disconnect()
  await producer.disconnect()
})

test('admin: topics, partitions, metadata, offsets, configs, groups, records, cluster', async () => {
  const topic = unique('admin')
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true)
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), false)
  assert.ok((await admin.listTopics()).includes(topic))
  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
  assert.equal(topics[0].name, topic)
  assert.deepEqual(topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2])

  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'a', partition: 0, timestamp: '1000' }, { value: 'b', partition: 0, timestamp: '2000' }, { value: 'c', partition: 0, timestamp: '3000' }] })
  await producer.disconnect()
  const offsets = await admin.fetchTopicOffsets(topic)
  assert.deepEqual(offsets.find(o => o.partition === 0), { partition: 0, offset: '3', high: '3', low: '0' })
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 2000)
  assert.equal(byTime.find(o => o.partition === 0).offset, '1')

  const groupId = unique('group')
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })
  const fetched = await admin.fetchOffsets({ groupId, topics: [topic] })
  assert.equal(fetched[0].partitions.find(p => p.partition === 0).offset, '1')
  await admin.resetOffsets({ groupId, topic, earliest: true })
  // KafkaJS commits -2 ("earliest") where tidelog commits the offset it stands for.
  const reset = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset
  assert.equal(reset, isTidelog ? '0' : '-2')
  assert.ok((await admin.listGroups()).groups.some(g => g.groupId === groupId))
  const described = await admin.describeGroups([groupId])
  assert.equal(described.groups[0].groupId, groupId)
  assert.equal(described.groups[0].state, 'Empty')
  await admin.deleteGroups([groupId])
  assert.ok(!(await admin.listGroups()).groups.some(g => g.groupId === groupId))

  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] })
  assert.equal((await admin.fetchTopicOffsets(topic)).find(o => o.partition === 0).low, '2')

  const type = client.ConfigResourceTypes.TOPIC
  const configs = await admin.describeConfigs({ resources: [{ type, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false })
  assert.equal(configs.resources[0].configEntries.find(e => e.configName === 'retention.ms').configValue, '3600000')
  await admin.alterConfigs({ resources: [{ type, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
  const altered = await admin.describeConfigs({ resources: [{ type, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false })
  assert.equal(altered.resources[0].configEntries[0].configValue, '7200000')

  const cluster = await admin.describeCluster()
  assert.equal(cluster.brokers.length, 1)
  assert.equal(`${cluster.brokers[0].host}:${cluster.brokers[0].port}`, broker.brokers[0])
  assert.equal(typeof cluster.clusterId, 'string')

  await admin.deleteTopics({ topics: [topic] })
  await eventually(async () => !(await admin.listTopics()).includes(topic), 10000, 'the topic gone')
})

test('errors: bad config, wrong types, unknown topic', async () => {
  assert.throws(() => kafka.consumer({}), { name: 'KafkaJSNonRetriableError', message: /groupId/ })
  const producer = kafka.producer()
  await producer.connect()
  await assert.rejects(producer.send({ topic: '', messages: [{ value: 'x' }] }), { name: 'KafkaJSNonRetriableError' })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: unique('group') })
  await assert.rejects(consumer.subscribe({ topics: 'nope' }), { name: 'KafkaJSNonRetriableError' })
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad/name' }] }), e =>
    e.name === 'KafkaJSAggregateError' && e.errors[0].name === 'KafkaJSCreateTopicError' &&
    e.errors[0] instanceof client.KafkaJSProtocolError && e.errors[0].type === 'INVALID_TOPIC_EXCEPTION' &&
    e.errors[0].code === 17 && e.errors[0].retriable === false && e.errors[0].topic === 'bad/name')
  // KafkaJS retries first and wraps the error; tidelog's admin does not retry it.
  await assert.rejects(admin.deleteTopics({ topics: [unique('missing')] }), e => {
    const cause = e.name === 'KafkaJSNumberOfRetriesExceeded' ? e.cause : e
    return cause.name === 'KafkaJSProtocolError' && cause.type === 'UNKNOWN_TOPIC_OR_PARTITION' && cause.code === 3
  })
})

test('tidelog only: bad Kafka values name the key, unreachable brokers fail connect', { skip: !isTidelog }, async () => {
  assert.throws(() => new client.Kafka({ brokers: 'nope' }), e => e instanceof client.KafkaJSError && e.name === 'KafkaJSNonRetriableError')
  assert.throws(() => kafka.consumer({ groupId: 'g', sessionTimeout: -5 }), { name: 'KafkaJSNonRetriableError', message: /session.timeout.ms/ })
  assert.throws(() => kafka.producer({ maxInFlightRequests: 0 }), e => e.name === 'KafkaJSNonRetriableError' && /max.in.flight/.test(e.message))
  const nowhere = new client.Kafka({ brokers: ['127.0.0.1:1'] })
  await assert.rejects(nowhere.admin().connect(), e => e.name === 'KafkaJSConnectionError' && e.retriable === true)
  const producer = kafka.producer()
  await assert.rejects(producer.send({ topic: 't', messages: 'nope' }), { name: 'KafkaJSNonRetriableError' })
  await assert.rejects(producer.send({ topic: 't', messages: [{ value: 42 }] }), { name: 'KafkaJSNonRetriableError', message: /value/ })
  await producer.disconnect()
})
