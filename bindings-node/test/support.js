'use strict'
// What the client tests share: the client under test (`tidelog`, or `kafkajs` with
// TIDELOG_TEST_CLIENT=kafkajs, to check that the tests hold for KafkaJS too) and a
// broker: tidelog's embedded one, or the `tidelog serve` binary at TIDELOG_BIN.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const tidelog = require('..')

const clientName = process.env.TIDELOG_TEST_CLIENT || 'tidelog'
const client = clientName === 'kafkajs' ? require('kafkajs') : tidelog
const isTidelog = clientName === 'tidelog'

let counter = 0
const unique = prefix => `${prefix}-${process.pid}-${Date.now()}-${counter++}`

function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** `tidelog serve` on a free port; `{ brokers, stop() }`. */
async function serve (binary) {
  const port = await freePort()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidelog-node-'))
  const child = spawn(binary, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    const up = await new Promise(resolve => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (up) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    stop: async () => {
      child.kill()
      await new Promise(resolve => child.once('exit', resolve))
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** A broker for a test file: the binary when TIDELOG_BIN is set, else embedded. */
function startBroker (options = {}) {
  if (process.env.TIDELOG_BIN) return serve(process.env.TIDELOG_BIN)
  return tidelog.EmbeddedBroker.start({ partitions: 3, ...options })
}

/** Resolves once `predicate()` holds, checking every 50 ms; rejects after `ms`. */
async function eventually (predicate, ms = 15000, what = 'condition') {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

function kafkaFor (broker, extra = {}) {
  return new client.Kafka({ clientId: 'tests', brokers: broker.brokers, logLevel: client.logLevel.NOTHING, ...extra })
}

module.exports = { client, clientName, isTidelog, tidelog, unique, startBroker, eventually, kafkaFor }
