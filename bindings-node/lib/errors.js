'use strict'
// KafkaJS's error classes, same names and fields, and the conversion of the native
// addon's errors (which carry `kind`, `code`, `type`, `retriable`, `broker`) into them.

class KafkaJSError extends Error {
  constructor (e, { retriable = true, cause } = {}) {
    super(typeof e === 'string' ? e : e.message, { cause })
    this.name = 'KafkaJSError'
    this.retriable = retriable
    this.cause = cause
  }
}

class KafkaJSNonRetriableError extends KafkaJSError {
  constructor (e, { cause } = {}) {
    super(e, { retriable: false, cause })
    this.name = 'KafkaJSNonRetriableError'
  }
}

/** A Kafka error code from the broker: `type` is its name, `code` its number. */
class KafkaJSProtocolError extends KafkaJSError {
  constructor (e, { retriable = e.retriable } = {}) {
    super(e, { retriable })
    this.type = e.type
    this.code = e.code
    this.name = 'KafkaJSProtocolError'
  }
}

/** A topic that createTopics could not create (in a KafkaJSAggregateError). */
class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  constructor (e, topic) {
    super(e)
    this.topic = topic
    this.name = 'KafkaJSCreateTopicError'
  }
}

/** A retriable error that kept failing until the call's time ran out. */
class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  constructor (e, { retryCount = 0, retryTime = 0 } = {}) {
    super(e, { cause: e })
    this.retryCount = retryCount
    this.retryTime = retryTime
    this.name = 'KafkaJSNumberOfRetriesExceeded'
  }
}

class KafkaJSConnectionError extends KafkaJSError {
  constructor (e, { broker, code } = {}) {
    super(e)
    this.broker = broker
    this.code = code
    this.name = 'KafkaJSConnectionError'
  }
}

class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor (e, { broker } = {}) {
    super(e)
    this.broker = broker
    this.name = 'KafkaJSRequestTimeoutError'
  }
}

class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  constructor (e, { apiKey, apiName } = {}) {
    super(e)
    this.apiKey = apiKey
    this.apiName = apiName
    this.name = 'KafkaJSServerDoesNotSupportApiKey'
  }
}

class KafkaJSDeleteGroupsError extends KafkaJSError {
  constructor (e, groups = []) {
    super(e)
    this.groups = groups
    this.name = 'KafkaJSDeleteGroupsError'
  }
}

class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  constructor ({ partitions }) {
    super('Error while deleting records', { retriable: false })
    this.partitions = partitions
    this.name = 'KafkaJSDeleteTopicRecordsError'
  }
}

class KafkaJSAggregateError extends Error {
  constructor (message, errors) {
    super(message)
    this.errors = errors
    this.name = 'KafkaJSAggregateError'
  }
}

/**
 * The KafkaJS error for a native error or per-item error info; anything else (a
 * TypeError from a wrong argument type) is returned as it is.
 */
function fromNative (e) {
  if (!e || typeof e.kind !== 'string') return e
  switch (e.kind) {
    case 'protocol':
      return new KafkaJSProtocolError(e)
    case 'connection':
      return new KafkaJSConnectionError(e.message, { broker: e.broker })
    case 'timeout':
      return new KafkaJSRequestTimeoutError(e.message, { broker: e.broker })
    case 'unsupported':
      return new KafkaJSServerDoesNotSupportApiKey(e.message)
    case 'config':
      return new KafkaJSNonRetriableError(e.message)
    default:
      return new KafkaJSError(e.message, { retriable: e.retriable })
  }
}

/** `promise` with its rejection converted by `fromNative`. */
async function converted (promise) {
  try {
    return await promise
  } catch (e) {
    throw fromNative(e)
  }
}

/** `fn()` with a thrown native error converted by `fromNative`. */
function convertedSync (fn) {
  try {
    return fn()
  } catch (e) {
    throw fromNative(e)
  }
}

module.exports = {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSCreateTopicError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  KafkaJSServerDoesNotSupportApiKey,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSAggregateError,
  fromNative,
  converted,
  convertedSync
}
