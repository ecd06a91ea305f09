#!/usr/bin/env node
'use strict'
// The conformance runner for KafkaJS's API: drives one scenario file (the steps are in
// conformance/README.md) through `tidelog` (our Node SDK, bindings-node) or `kafkajs`
// (the stock client), chosen with --client. Exits 0 when the scenario passed, 1 when it
// failed, 2 when it does not apply; the last line printed says why.
//
// KafkaJS's API takes options rather than Kafka config keys, so the runner translates the
// keys scenarios use (CONFIG_KEYS below); a key it cannot translate makes the scenario not
// applicable, and so do steps that expect a bad key to be refused. KafkaJS has no manual
// assignment: `assign` subscribes the consumer, alone in its group, to the partitions'
// topics, and as it joins pauses the partitions not asked for and seeks to the offsets
// given. It has no position API and no static membership: steps needing them do not apply.

const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const REPO = path.resolve(__dirname, '..', '..', '..')
const SETTLE_MS = 10000

class Failed extends Error {}
class NotApplicable extends Error {}

function parseArgs (argv) {
  const args = { client: 'tidelog', prefix: '', capabilities: '', data: path.join(REPO, 'conformance', 'data') }
  const rest = []
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].match(/^--(client|bootstrap|prefix|capabilities|data)$/)
    if (flag) {
      args[flag[1]] = argv[++i]
    } else {
      rest.push(argv[i])
    }
  }
  if (!args.bootstrap || rest.length !== 1 || !['tidelog', 'kafkajs'].includes(args.client)) {
    console.error('usage: runner.js [--client tidelog|kafkajs] --bootstrap HOST:PORT [--prefix P] [--capabilities C,C] [--data DIR] SCENARIO')
    process.exit(64)
  }
  args.scenario = rest[0]
  args.capabilities = new Set(args.capabilities.split(',').filter(Boolean))
  return args
}

const unescape = value => value.replace(/%20/g, ' ').replace(/%25/g, '%')
const template = (text, index) => text.replace(/\{i\}/g, String(index))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

class Step {
  constructor (line, words) {
    this.line = line
    this.verb = words[0]
    this.word = null
    this.args = []
    for (const word of words.slice(1)) {
      const at = word.indexOf('=')
      if (at >= 0) {
        this.args.push([word.slice(0, at), unescape(word.slice(at + 1))])
      } else if (this.word === null && this.args.length === 0) {
        this.word = word
      } else {
        throw new Failed(`line ${line}: \`${word}\` is not key=value`)
      }
    }
  }

  get (key, fallback) {
    const found = this.args.find(([k]) => k === key)
    return found ? found[1] : fallback
  }

  need (key) {
    const value = this.get(key)
    if (value === undefined) throw this.fail(`needs ${key}=`)
    return value
  }

  number (key, fallback) {
    const value = this.get(key)
    if (value === undefined) {
      if (fallback === undefined) throw this.fail(`needs ${key}=`)
      return fallback
    }
    const number = Number(value)
    if (!Number.isInteger(number)) throw this.fail(`${key}=${value} is not a number`)
    return number
  }

  prefixed (prefix) {
    return this.args.filter(([k]) => k.startsWith(prefix + '.')).map(([k, v]) => [k.slice(prefix.length + 1), v])
  }

  fail (message) {
    return new Failed(`line ${this.line} (${this.verb}): ${message}`)
  }
}

function parse (text) {
  const steps = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line && !line.startsWith('#')) steps.push(new Step(index + 1, line.split(' ').filter(Boolean)))
  })
  return steps
}

// How the Kafka config keys of `producer` and `consumer` steps become KafkaJS options:
// each function returns what it sets, or a string saying why the key does not apply.
const CONFIG_KEYS = {
  producer: {
    'enable.idempotence': (v, o) => { o.producer.idempotent = v === 'true' },
    'max.in.flight.requests.per.connection': (v, o) => { o.producer.maxInFlightRequests = Number(v) },
    acks: (v, o) => { o.send.acks = v === 'all' ? -1 : Number(v) },
    'compression.type': (v, o, kafka) => {
      const type = { none: 'None', gzip: 'GZIP', snappy: 'Snappy', lz4: 'LZ4', zstd: 'ZSTD' }[v]
      if (type === undefined) return `no compression type ${v}`
      o.send.compression = kafka.CompressionTypes[type]
    },
    // KafkaJS sends each send() as it is: batching is the caller's, so the batching knobs
    // change nothing the scenarios check.
    'linger.ms': () => {},
    'batch.size': () => {},
    'request.timeout.ms': (v, o) => { o.client.requestTimeout = Number(v) },
    'delivery.timeout.ms': (v, o) => { o.producer.retry = { retries: 5, maxRetryTime: Number(v) / 5 } },
    partitioner: (v, o, kafka) => {
      if (v !== 'murmur2_random') return `no partitioner ${v} (KafkaJS has Java's murmur2)`
      o.producer.createPartitioner = kafka.Partitioners.JavaCompatiblePartitioner
    }
  },
  consumer: {
    'auto.offset.reset': (v, o) => {
      if (!['earliest', 'latest'].includes(v)) return `no auto.offset.reset=${v}`
      o.subscribe.fromBeginning = v === 'earliest'
    },
    'enable.auto.commit': (v, o) => { o.run.autoCommit = v === 'true' },
    'auto.commit.interval.ms': (v, o) => { o.run.autoCommitInterval = Number(v) },
    'session.timeout.ms': (v, o) => { o.consumer.sessionTimeout = Number(v) },
    'heartbeat.interval.ms': (v, o) => { o.consumer.heartbeatInterval = Number(v) },
    'partition.assignment.strategy': v => {
      // KafkaJS's only built-in assigner is round robin, its default.
      if (v !== 'roundrobin') return `no ${v} assignor in KafkaJS`
    }
  }
}

class Member {
  constructor (runner, consumer, options) {
    this.runner = runner
    this.consumer = consumer
    this.options = options
    this.received = []
    this.last = new Map()
    this.assignment = null
    this.running = false
    this.failure = null
    // Set by `assign`: the partitions asked for (TOPIC:PARTITION -> offset or undefined).
    this.wanted = null
    consumer.on(consumer.events.GROUP_JOIN, event => {
      this.assignment = event.payload.memberAssignment
      if (this.wanted) this.applyWanted()
    })
    consumer.on(consumer.events.CRASH, event => {
      // A crash KafkaJS restarts from (a retriable error) is recovery, not failure.
      if (!event.payload.restart) this.failure = event.payload.error
    })
  }

  // Before the first fetch (GROUP_JOIN is emitted then): pauses the joined partitions not
  // asked for and seeks to the offsets asked for.
  applyWanted () {
    for (const [topic, partitions] of Object.entries(this.assignment || {})) {
      const unwanted = partitions.filter(p => !this.wanted.has(`${topic}:${p}`))
      if (unwanted.length > 0) this.consumer.pause([{ topic, partitions: unwanted }])
      for (const partition of partitions) {
        const offset = this.wanted.get(`${topic}:${partition}`)
        if (offset !== undefined) this.consumer.seek({ topic, partition, offset: String(offset) })
      }
    }
  }

  onMessage ({ topic, partition, message }) {
    const key = `${topic}:${partition}`
    if (this.wanted && !this.wanted.has(key)) return
    const offset = Number(message.offset)
    const last = this.last.get(key)
    if (last !== undefined && offset <= last) {
      this.failure = new Failed(`${key} went from offset ${last} back to ${offset}`)
    }
    this.last.set(key, offset)
    this.received.push({ topic, partition, offset, message })
  }

  check () {
    if (this.failure) throw this.failure instanceof Failed ? this.failure : new Failed(`consumer crashed: ${this.failure}`)
  }

  assigned (topic) {
    return this.assignment && this.assignment[topic] ? this.assignment[topic] : []
  }
}

class Runner {
  constructor (args, kafka) {
    this.args = args
    this.kafka = kafka
    this.client = new kafka.Kafka({ brokers: [args.bootstrap], clientId: 'conformance', logLevel: kafka.logLevel.NOTHING })
    this.producer = null
    this.members = new Map()
    this.adminClient = null
    this.errorNames = errorNames(args.data)
  }

  name (logical) {
    return this.args.prefix + logical
  }

  // The Kafka error name of an error a KafkaJS call threw, looking through the wrappers
  // KafkaJS puts around the broker's error.
  errorName (error) {
    const seen = new Set()
    const queue = [error]
    while (queue.length > 0) {
      const e = queue.shift()
      if (!e || seen.has(e)) continue
      seen.add(e)
      if (typeof e.type === 'string' && e.type !== 'UNKNOWN') return e.type
      if (typeof e.code === 'number' && this.errorNames.has(e.code)) return this.errorNames.get(e.code)
      queue.push(e.cause, e.originalError, ...(e.errors || []))
      for (const part of [...(e.groups || []), ...(e.partitions || [])]) queue.push(part.error)
    }
    if (error && /Timeout|NumberOfRetriesExceeded/.test(error.name)) return 'REQUEST_TIMED_OUT'
    return null
  }

  async expected (step, call) {
    const want = step.get('error')
    let result
    try {
      result = await call()
    } catch (error) {
      if (error instanceof Failed || error instanceof NotApplicable) throw error
      if (error && error.name === 'KafkaJSNotImplemented') throw new NotApplicable(`line ${step.line}: ${error.message}`)
      const name = this.errorName(error)
      if (want !== undefined && name && want.split('|').includes(name)) return undefined
      if (want === undefined) throw step.fail(`${name}: ${error && error.message}`)
      throw step.fail(`expected ${want}, failed with ${name}: ${error && error.message}`)
    }
    if (want !== undefined) throw step.fail(`succeeded; expected ${want}`)
    return result
  }

  async admin () {
    if (this.adminClient === null) {
      this.adminClient = this.client.admin()
      await this.adminClient.connect()
    }
    return this.adminClient
  }

  partition (step, text) {
    let offset
    const at = text.indexOf('@')
    if (at >= 0) {
      offset = Number(text.slice(at + 1))
      text = text.slice(0, at)
    }
    const colon = text.lastIndexOf(':')
    if (colon <= 0) throw step.fail(`\`${text}\` is not TOPIC:PARTITION`)
    return { topic: this.name(text.slice(0, colon)), partition: Number(text.slice(colon + 1)), offset }
  }

  partitions (step, key) {
    return step.need(key).split(',').filter(Boolean).map(p => this.partition(step, p))
  }

  member (step) {
    const member = this.members.get(step.need('consumer'))
    if (!member) throw step.fail(`no consumer ${step.need('consumer')}`)
    member.check()
    return member
  }

  // KafkaJS options from the step's Kafka config keys, into `options` (by part).
  translate (step, kind, options) {
    if (step.get('error') === 'INVALID_CONFIG') {
      throw new NotApplicable(`line ${step.line}: KafkaJS's API takes options, not Kafka config keys to refuse`)
    }
    for (const [key, value] of step.prefixed('config')) {
      const translation = CONFIG_KEYS[kind][key]
      if (!translation) throw new NotApplicable(`line ${step.line}: ${key} has no KafkaJS option`)
      const refused = translation(value, options, this.kafka)
      if (typeof refused === 'string') throw new NotApplicable(`line ${step.line}: ${refused}`)
    }
    return options
  }

  async run (steps) {
    for (const step of steps) {
      if (typeof this['step_' + step.verb] !== 'function') {
        throw new NotApplicable(`line ${step.line}: no \`${step.verb}\` step in this runner`)
      }
      const traits = new Set(['java-default-partitioner'])
      if (step.verb === 'requires' && !this.args.capabilities.has(step.word) && !traits.has(step.word)) {
        throw new NotApplicable(`needs ${step.word}`)
      }
    }
    for (const step of steps) await this['step_' + step.verb](step)
  }

  async close () {
    for (const member of this.members.values()) await member.consumer.disconnect().catch(() => {})
    if (this.producer) await this.producer.client.disconnect().catch(() => {})
    if (this.adminClient) await this.adminClient.disconnect().catch(() => {})
  }

  // Setup and admin.

  step_requires () {}

  async step_create_topic (step) {
    const admin = await this.admin()
    const topic = {
      topic: this.name(step.need('topic')),
      numPartitions: step.number('partitions'),
      replicationFactor: 1,
      configEntries: step.prefixed('config').map(([name, value]) => ({ name, value }))
    }
    await this.expected(step, async () => {
      // KafkaJS resolves to false, rather than failing, when the topic exists.
      if (!await admin.createTopics({ topics: [topic], waitForLeaders: true, timeout: 10000 })) {
        throw Object.assign(new Error('topic exists'), { type: 'TOPIC_ALREADY_EXISTS' })
      }
    })
  }

  async step_delete_topic (step) {
    const admin = await this.admin()
    await this.expected(step, () => admin.deleteTopics({ topics: [this.name(step.need('topic'))], timeout: 10000 }))
  }

  async step_create_partitions (step) {
    const admin = await this.admin()
    const topicPartitions = [{ topic: this.name(step.need('topic')), count: step.number('total') }]
    await this.expected(step, () => admin.createPartitions({ topicPartitions, timeout: 10000 }))
  }

  async step_describe_topic (step) {
    const admin = await this.admin()
    const topic = this.name(step.need('topic'))
    const deadline = Date.now() + SETTLE_MS
    for (;;) {
      let error = null
      let count = null
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
        count = topics[0].partitions.length
      } catch (e) {
        error = this.errorName(e) || String(e)
      }
      const wantError = step.get('error')
      if (wantError !== undefined ? error === wantError : error === null && count === step.number('partitions')) return
      if (Date.now() > deadline) throw step.fail(`${count} partitions, error ${error}`)
      await sleep(100)
    }
  }

  async step_alter_config (step) {
    const admin = await this.admin()
    const resources = [{
      type: this.kafka.ConfigResourceTypes.TOPIC,
      name: this.name(step.need('topic')),
      configEntries: step.prefixed('config').map(([name, value]) => ({ name, value }))
    }]
    await this.expected(step, () => admin.alterConfigs({ validateOnly: false, resources }))
  }

  async step_expect_config (step) {
    const admin = await this.admin()
    const key = step.need('key')
    const resources = [{ type: this.kafka.ConfigResourceTypes.TOPIC, name: this.name(step.need('topic')), configNames: [key] }]
    const described = await this.expected(step, () => admin.describeConfigs({ resources, includeSynonyms: false }))
    const entry = described.resources[0].configEntries.find(e => e.configName === key)
    const value = entry ? entry.configValue : null
    if (value !== step.need('value')) throw step.fail(`${key} is ${JSON.stringify(value)}`)
  }

  async step_list_offsets (step) {
    const admin = await this.admin()
    const topic = this.name(step.need('topic'))
    const partition = step.number('partition')
    const spec = step.need('spec')
    let offsets
    if (spec === 'earliest' || spec === 'latest') {
      const found = await this.expected(step, () => admin.fetchTopicOffsets(topic))
      offsets = found && found.map(p => ({ partition: p.partition, offset: spec === 'earliest' ? p.low : p.high }))
    } else {
      const found = await this.expected(step, () => Promise.all([
        admin.fetchTopicOffsetsByTimestamp(topic, step.number('spec')), admin.fetchTopicOffsets(topic)]))
      if (found === undefined) return
      const [byTime, ends] = found
      // KafkaJS gives the high watermark where no record is that late; Kafka's answer is -1.
      offsets = byTime.map(p => {
        const end = ends.find(e => e.partition === p.partition)
        return { partition: p.partition, offset: end && end.high === p.offset ? -1 : p.offset }
      })
    }
    if (offsets === undefined) return
    const found = offsets.find(p => p.partition === partition)
    if (!found || Number(found.offset) !== step.number('offset')) {
      throw step.fail(`offset ${found && found.offset}, expected ${step.number('offset')}`)
    }
  }

  async step_delete_records (step) {
    const admin = await this.admin()
    const topic = this.name(step.need('topic'))
    const before = step.number('before')
    // KafkaJS finds the partition's leader only for topics whose metadata it already holds.
    await admin.fetchTopicMetadata({ topics: [topic] })
    await this.expected(step, () => admin.deleteTopicRecords({ topic, partitions: [{ partition: step.number('partition'), offset: String(before) }] }))
    const offsets = await admin.fetchTopicOffsets(topic)
    const low = offsets.find(p => p.partition === step.number('partition')).low
    if (Number(low) !== before) throw step.fail(`log start offset is ${low}`)
  }

  async step_describe_group (step) {
    const admin = await this.admin()
    const group = this.name(step.need('group'))
    const deadline = Date.now() + SETTLE_MS
    for (;;) {
      const described = await this.expected(step, () => admin.describeGroups([group]))
      if (described === undefined) return
      const { state, members } = described.groups[0]
      let mismatch = null
      const wantState = step.get('state')
      if (wantState !== undefined && state.replace(/_/g, '').toLowerCase() !== wantState.toLowerCase()) mismatch = `state ${state}`
      const wantMembers = step.get('members')
      if (wantMembers !== undefined && members.length !== Number(wantMembers)) mismatch = `${members.length} members`
      if (mismatch === null) return
      if (Date.now() > deadline) throw step.fail(mismatch)
      await sleep(100)
    }
  }

  async step_list_groups (step) {
    const admin = await this.admin()
    const group = this.name(step.need('contains'))
    const { groups } = await admin.listGroups()
    if (!groups.some(g => g.groupId === group)) throw step.fail(`${group} is not listed`)
  }

  async step_delete_group (step) {
    const admin = await this.admin()
    await this.expected(step, () => admin.deleteGroups([this.name(step.need('group'))]))
  }

  step_restart_broker (step) {
    const command = process.env.CONFORMANCE_RESTART
    if (!command) throw step.fail('CONFORMANCE_RESTART is not set')
    if (spawnSync('sh', ['-c', command], { stdio: 'inherit' }).status !== 0) throw step.fail(`\`${command}\` failed`)
    // KafkaJS's admin client does not reconnect by itself: a new one after the restart.
    if (this.adminClient) this.adminClient.disconnect().catch(() => {})
    this.adminClient = null
  }

  async step_sleep (step) {
    await sleep(step.number('ms'))
  }

  // Producing.

  async step_producer (step) {
    if (this.producer) await this.producer.client.disconnect()
    this.producer = null
    const options = this.translate(step, 'producer', { client: {}, producer: {}, send: {} })
    const client = Object.keys(options.client).length === 0
      ? this.client
      : new this.kafka.Kafka({ brokers: [this.args.bootstrap], clientId: 'conformance', logLevel: this.kafka.logLevel.NOTHING, ...options.client })
    const producer = await this.expected(step, async () => {
      const made = client.producer({ allowAutoTopicCreation: false, ...options.producer })
      await made.connect()
      return made
    })
    if (producer) this.producer = { client: producer, send: options.send }
  }

  // Sends `messages` to `topic` in one send(); the RecordMetadata list, or the error.
  async send (step, topic, messages) {
    if (!this.producer) throw step.fail('no producer: a `producer` step comes first')
    try {
      return { metadata: await this.producer.client.send({ topic, messages, ...this.producer.send }) }
    } catch (error) {
      if (error && error.name === 'KafkaJSNotImplemented') throw new NotApplicable(`line ${step.line}: ${error.message}`)
      return { error }
    }
  }

  async step_produce (step) {
    const topic = this.name(step.need('topic'))
    const messages = []
    for (let index = 0; index < step.number('count', 1); index++) {
      const message = { value: null }
      if (step.get('size') !== undefined) {
        message.value = Buffer.alloc(step.number('size'), 'x')
      } else if (step.get('value') !== undefined) {
        message.value = Buffer.from(template(step.get('value'), index))
      }
      if (step.get('key') !== undefined) message.key = Buffer.from(template(step.get('key'), index))
      if (step.get('partition') !== undefined) message.partition = step.number('partition')
      const headers = step.prefixed('header')
      if (headers.length > 0) message.headers = Object.fromEntries(headers.map(([k, v]) => [k, Buffer.from(template(v, index))]))
      if (step.get('timestamp') !== undefined) message.timestamp = String(step.number('timestamp'))
      messages.push(message)
    }
    const { metadata, error } = await this.send(step, topic, messages)
    const wantError = step.get('error')
    const got = error ? this.errorName(error) : null
    if ((got === null) !== (wantError === undefined) || (got !== null && !wantError.split('|').includes(got))) {
      throw step.fail(`error ${got} (${error && error.message}), expected ${wantError}`)
    }
    if (error) return
    const landing = step.get('partition_of')
    if (landing !== undefined && metadata.some(m => m.partition !== Number(landing))) {
      throw step.fail(`records on partitions ${metadata.map(m => m.partition)}, expected ${landing}`)
    }
    const first = step.get('offset')
    if (first !== undefined) {
      // In one send to one partition the records take consecutive offsets from baseOffset.
      if (metadata.length !== 1 || Number(metadata[0].baseOffset) !== Number(first)) {
        throw step.fail(`records at ${JSON.stringify(metadata.map(m => [m.partition, m.baseOffset]))}, expected offset ${first}`)
      }
    }
  }

  async step_produce_vectors (step) {
    const topic = this.name(step.need('topic'))
    const vectors = fs.readFileSync(path.join(this.args.data, step.need('file')), 'utf8')
      .split('\n').filter(line => line && !line.startsWith('#')).map(line => line.split('\t'))
    const sent = await Promise.all(vectors.map(([key]) => this.send(step, topic, [{ key: Buffer.from(key), value: Buffer.from('v') }])))
    vectors.forEach(([key, want], index) => {
      const { metadata, error } = sent[index]
      if (error) throw step.fail(`key ${JSON.stringify(key)}: ${error.message}`)
      if (metadata[0].partition !== Number(want)) throw step.fail(`key ${JSON.stringify(key)} on ${metadata[0].partition}, expected ${want}`)
    })
  }

  // Consuming.

  async step_consumer (step) {
    const options = this.translate(step, 'consumer', { consumer: {}, subscribe: {}, run: {} })
    // A KafkaJS consumer always has a group: one of its own when the scenario gives none.
    const group = step.get('group', `assigning-${step.need('name')}`)
    const consumer = await this.expected(step, async () => {
      const made = this.client.consumer({ groupId: this.name(group), allowAutoTopicCreation: false, ...options.consumer })
      await made.connect()
      return made
    })
    if (consumer) this.members.set(step.need('name'), new Member(this, consumer, options))
  }

  async start (step, member, topics) {
    if (member.running) throw new NotApplicable(`line ${step.line}: a KafkaJS consumer subscribes once`)
    member.running = true
    await member.consumer.subscribe({ topics, ...member.options.subscribe })
    await member.consumer.run({ ...member.options.run, eachMessage: async payload => member.onMessage(payload) })
  }

  async step_subscribe (step) {
    const member = this.member(step)
    const topics = step.need('topics').split(',').map(t => this.name(t))
    await this.expected(step, () => this.start(step, member, topics))
  }

  async step_assign (step) {
    const member = this.member(step)
    const wanted = this.partitions(step, 'partitions')
    member.wanted = new Map(wanted.map(p => [`${p.topic}:${p.partition}`, p.offset]))
    await this.start(step, member, [...new Set(wanted.map(p => p.topic))])
    await this.waitFor(step, [member], () => member.assignment !== null, 30000, () => 'the consumer never joined its group')
  }

  async waitFor (step, members, done, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      members.forEach(m => m.check())
      if (done()) return
      if (Date.now() > deadline) throw step.fail(what())
      await sleep(20)
    }
  }

  async step_consume (step) {
    const member = this.member(step)
    const count = step.number('count')
    await this.waitFor(step, [member], () => member.received.length >= count, step.number('timeout_ms', 20000),
      () => `${member.received.length} of ${count} records arrived`)
  }

  async step_expect_nothing (step) {
    const member = this.member(step)
    const before = member.received.length
    await sleep(step.number('ms'))
    member.check()
    if (member.received.length !== before) {
      const r = member.received[before]
      throw step.fail(`received ${r.topic}:${r.partition}@${r.offset}`)
    }
  }

  step_expect_records (step) {
    const member = this.member(step)
    const topic = this.name(step.need('topic'))
    const partition = step.number('partition')
    const start = step.number('from')
    const count = step.number('count')
    const seen = new Map()
    for (const r of member.received) {
      if (r.topic === topic && r.partition === partition && r.offset >= start && r.offset < start + count) {
        if (seen.has(r.offset)) throw step.fail(`offset ${r.offset} received twice`)
        seen.set(r.offset, r.message)
      }
    }
    for (let index = 0; index < count; index++) {
      const offset = start + index
      const message = seen.get(offset)
      if (!message) throw step.fail(`offset ${offset} not received`)
      for (const field of ['key', 'value']) {
        const want = step.get(field)
        if (want === undefined) continue
        const actual = message[field] === null || message[field] === undefined ? null : message[field].toString()
        const expected = want === 'null' ? null : template(want, index)
        if (actual !== expected) throw step.fail(`offset ${offset}: ${field} ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`)
      }
      for (const [name, want] of step.prefixed('header')) {
        const actual = message.headers && message.headers[name]
        if (!actual || actual.toString() !== template(want, index)) throw step.fail(`offset ${offset}: header ${name} ${actual}`)
      }
      if (step.get('timestamp') !== undefined && Number(message.timestamp) !== step.number('timestamp')) {
        throw step.fail(`offset ${offset}: timestamp ${message.timestamp}`)
      }
    }
  }

  step_expect_count (step) {
    const member = this.member(step)
    const topic = step.get('topic') !== undefined ? this.name(step.get('topic')) : undefined
    const partition = step.get('partition') !== undefined ? step.number('partition') : undefined
    const count = member.received.filter(r => (topic === undefined || r.topic === topic) && (partition === undefined || r.partition === partition)).length
    if (count !== step.number('count')) throw step.fail(`${count} records, expected ${step.number('count')}`)
  }

  step_clear (step) {
    this.member(step).received = []
  }

  async step_commit (step) {
    const member = this.member(step)
    let offsets
    if (step.get('offsets') !== undefined) {
      offsets = this.partitions(step, 'offsets').map(p => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) }))
    } else {
      // The positions: past the last record received from each partition.
      offsets = [...member.last].map(([key, last]) => {
        const colon = key.lastIndexOf(':')
        return { topic: key.slice(0, colon), partition: Number(key.slice(colon + 1)), offset: String(last + 1) }
      })
    }
    if (member.running) {
      await this.expected(step, () => member.consumer.commitOffsets(offsets))
    } else {
      // commitOffsets needs a running consumer; the admin client commits for an idle group.
      const admin = await this.admin()
      const groupId = this.name(this.groupOf(step))
      await this.expected(step, async () => {
        for (const topic of new Set(offsets.map(o => o.topic))) {
          await admin.setOffsets({ groupId, topic, partitions: offsets.filter(o => o.topic === topic) })
        }
      })
    }
  }

  async step_expect_committed (step) {
    this.member(step)
    const admin = await this.admin()
    const groupId = this.name(this.groupOf(step))
    for (const want of this.partitions(step, 'partitions')) {
      const found = await admin.fetchOffsets({ groupId, topics: [want.topic] })
      const entry = found[0].partitions.find(p => p.partition === want.partition)
      const got = entry ? Math.max(-1, Number(entry.offset)) : -1
      if (got !== want.offset) throw step.fail(`${want.topic}:${want.partition} committed ${got}`)
    }
  }

  // The group the step's consumer was created in.
  groupOf (step) {
    const name = step.need('consumer')
    const created = this.steps.find(s => s.verb === 'consumer' && s.get('name') === name)
    return created.get('group', `assigning-${name}`)
  }

  async step_seek (step) {
    const member = this.member(step)
    const { topic, partition } = this.partition(step, step.need('partition'))
    const special = { earliest: '-2', latest: '-1' }
    const offset = special[step.need('offset')] || String(step.number('offset'))
    await this.expected(step, () => member.consumer.seek({ topic, partition, offset }))
    member.last.delete(`${topic}:${partition}`)
  }

  byTopic (step) {
    const topics = new Map()
    for (const p of this.partitions(step, 'partitions')) topics.set(p.topic, [...(topics.get(p.topic) || []), p.partition])
    return [...topics].map(([topic, partitions]) => ({ topic, partitions }))
  }

  step_pause (step) {
    this.member(step).consumer.pause(this.byTopic(step))
  }

  step_resume (step) {
    this.member(step).consumer.resume(this.byTopic(step))
  }

  step_expect_position (step) {
    throw new NotApplicable(`line ${step.line}: KafkaJS has no position API`)
  }

  async step_await_assignment (step) {
    const members = step.need('consumers').split(',').map(name => {
      const member = this.members.get(name)
      if (!member) throw step.fail(`no consumer ${name}`)
      return member
    })
    const topic = this.name(step.need('topic'))
    const count = step.number('partitions')
    let sizes = []
    let covered = []
    await this.waitFor(step, members, () => {
      const owned = members.map(m => m.assigned(topic))
      sizes = owned.map(o => o.length)
      const all = owned.flat()
      covered = [...new Set(all)].sort((a, b) => a - b)
      return all.length === count && covered.length === count && covered.every((p, i) => p === i) &&
        Math.max(...sizes) - Math.min(...sizes) <= 1
    }, step.number('timeout_ms', 30000), () => `assignment sizes ${sizes}, partitions ${covered}`)
  }

  step_expect_assignment (step) {
    const member = this.member(step)
    const want = this.partitions(step, 'partitions').map(p => `${p.topic}:${p.partition}`).sort()
    const have = Object.entries(member.assignment || {}).flatMap(([t, ps]) => ps.map(p => `${t}:${p}`)).sort()
    if (want.join(',') !== have.join(',')) throw step.fail(`assignment ${have}, expected ${want}`)
  }

  async step_close (step) {
    const member = this.members.get(step.need('consumer'))
    if (!member) throw step.fail(`no consumer ${step.need('consumer')}`)
    this.members.delete(step.need('consumer'))
    await this.expected(step, () => member.consumer.disconnect())
  }
}

// Kafka's error names by code, from conformance/data/error-codes.tsv.
function errorNames (data) {
  const names = new Map()
  for (const line of fs.readFileSync(path.join(data, 'error-codes.tsv'), 'utf8').split('\n')) {
    if (line && !line.startsWith('#')) {
      const [code, name] = line.split('\t')
      names.set(Number(code), name)
    }
  }
  return names
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  // KafkaJS warns on stdout about its partitioner change; the last line is the result.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
  const kafka = args.client === 'kafkajs' ? require('kafkajs') : require(path.join(REPO, 'bindings-node'))
  const runner = new Runner(args, kafka)
  let code, message
  try {
    runner.steps = parse(fs.readFileSync(args.scenario, 'utf8'))
    await runner.run(runner.steps)
    code = 0
    message = 'passed'
  } catch (error) {
    if (error instanceof NotApplicable) {
      code = 2
      message = `not applicable: ${error.message}`
    } else {
      code = 1
      message = `failed: ${error instanceof Failed ? error.message : error && error.stack}`
    }
  }
  await runner.close()
  console.log(message)
  process.exit(code)
}

main()
