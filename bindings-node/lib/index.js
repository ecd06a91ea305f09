'use strict'
// tidelog for Node: KafkaJS's API (`new Kafka({ brokers })`, `producer()`,
// `consumer()`, `admin()`) over tidelog's Rust clients, plus `EmbeddedBroker`.
const native = require('./native')
const errors = require('./errors')
const { Producer, CompressionTypes, Partitioners } = require('./producer')
const { Consumer } = require('./consumer')
const { Admin, ConfigResourceTypes, ConfigSource } = require('./admin')

const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 }

function nonNegative (name, value) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new errors.KafkaJSNonRetriableError(
      `${name} must be a non-negative number of ms, not ${JSON.stringify(value)}`)
  }
  return Math.floor(value)
}

class Kafka {
  /**
   * @param {object} config `brokers` (array of `host:port`, required), `clientId`,
   *   `requestTimeout` (ms), `connectionTimeout` (ms), `retry`, `logLevel`; `ssl` and
   *   `sasl` are refused (KafkaJSNonRetriableError) until tidelog speaks TLS and SASL.
   */
  constructor (config = {}) {
    const { clientId = 'kafkajs', brokers, ssl, sasl, requestTimeout, connectionTimeout, retry, logLevel: level } = config
    if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every(b => typeof b === 'string' && b)) {
      throw new errors.KafkaJSNonRetriableError(
        `Failed to connect: expected brokers array and got ${JSON.stringify(brokers)}`)
    }
    if (ssl) throw new errors.KafkaJSNonRetriableError('ssl: TLS is not supported by tidelog yet')
    if (sasl) throw new errors.KafkaJSNonRetriableError('sasl: SASL is not supported by tidelog yet')
    if (typeof clientId !== 'string') {
      throw new errors.KafkaJSNonRetriableError(`clientId must be a string, not ${typeof clientId}`)
    }
    if (level !== undefined && !Object.values(logLevel).includes(level)) {
      throw new errors.KafkaJSNonRetriableError(`logLevel must be one of logLevel's values, not ${level}`)
    }
    nonNegative('connectionTimeout', connectionTimeout)
    if (retry !== undefined && (typeof retry !== 'object' || retry === null)) {
      throw new errors.KafkaJSNonRetriableError('retry must be an object')
    }
    this.settings = [['bootstrap.servers', brokers.join(',')], ['client.id', clientId]]
    const timeout = nonNegative('requestTimeout', requestTimeout)
    if (timeout !== undefined) this.settings.push(['request.timeout.ms', String(timeout)])
    this.retry = retry || {}
  }

  /** A producer; see `Producer`. */
  producer (options = {}) {
    return new Producer(this, options)
  }

  /** A consumer of the group `groupId`; see `Consumer`. */
  consumer (options = {}) {
    return new Consumer(this, options)
  }

  /** An admin client; see `Admin`. */
  admin (options = {}) {
    return new Admin(this, options)
  }
}

/** A tidelog broker inside this process on 127.0.0.1 and a free port. */
class EmbeddedBroker {
  constructor (broker) {
    this.native = broker
    /** `host:port` to give `brokers` / `bootstrap.servers`. */
    this.bootstrapServers = broker.bootstrapServers
    /** `[bootstrapServers]`, for `new Kafka({ brokers })`. */
    this.brokers = [broker.bootstrapServers]
  }

  /**
   * Starts a broker: `partitions` per auto-created topic (default 1), logs in memory
   * unless `inMemory: false` or `dataDir` is given, `settings` further broker keys as an
   * object (`{ 'log.segment.bytes': 1048576 }`). Rejects when it cannot start.
   */
  static async start ({ partitions, dataDir, inMemory, autoCreateTopics, settings } = {}) {
    const pairs = Object.entries(settings || {}).map(([k, v]) => [k, String(v)])
    const broker = await errors.converted(native.EmbeddedBroker.start({
      partitions, dataDir, inMemory, autoCreateTopics, settings: pairs
    }))
    return new EmbeddedBroker(broker)
  }

  /** Stops the broker (its logs closed); stopping twice is harmless. */
  stop () {
    return errors.converted(this.native.stop())
  }
}

const { fromNative, converted, convertedSync, ...errorClasses } = errors

module.exports = {
  Kafka,
  EmbeddedBroker,
  Partitioners,
  CompressionTypes,
  ConfigResourceTypes,
  ConfigSource,
  logLevel,
  ...errorClasses
}
