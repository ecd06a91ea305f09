'use strict'
// KafkaJS's `client.on(eventName, listener)` instrumentation: events `{ id, type,
// timestamp, payload }`, `on` returning a function that removes the listener.
const { EventEmitter } = require('node:events')
const { KafkaJSNonRetriableError } = require('./errors')

class Instrumentation {
  constructor (events) {
    this.events = events
    this.emitter = new EventEmitter()
    this.nextId = 0
  }

  on (eventName, listener) {
    if (!Object.values(this.events).includes(eventName)) {
      throw new KafkaJSNonRetriableError(
        `Event name should be one of ${Object.keys(this.events).join(', ')}`)
    }
    this.emitter.on(eventName, listener)
    return () => this.emitter.removeListener(eventName, listener)
  }

  emit (type, payload) {
    this.emitter.emit(type, { id: this.nextId++, type, timestamp: Date.now(), payload })
  }
}

module.exports = { Instrumentation }
