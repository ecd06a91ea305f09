#!/usr/bin/env node
// tidelog's producer vs KafkaJS's, same broker: RECORDS records of SIZE bytes sent with
// `send` in chunks of CHUNK messages (at most IN_FLIGHT sends outstanding), acks=1, one
// topic of one partition per run. The runs alternate between the clients; prints each
// run's records/s, the medians and the ratio tidelog / kafkajs.
//
//   node bench/node/producer_vs_kafkajs.js --brokers 127.0.0.1:19200 --records 1000000 --size 100 --runs 3
//
// Needs `npm install` in bindings-node (it brings kafkajs as a dev dependency); without
// --brokers it starts an EmbeddedBroker in this process.
'use strict'
const path = require('node:path')
const pkg = path.join(__dirname, '../../bindings-node')
const tidelog = require(pkg)
const kafkajs = require(require.resolve('kafkajs', { paths: [pkg] }))

function option (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}

const records = Number(option('records', 1000000))
const size = Number(option('size', 100))
const runs = Number(option('runs', 3))
const chunk = Number(option('chunk', 5000))
const inFlight = Number(option('in-flight', 4))

async function produce (client, brokers, topic) {
  const kafka = new client.Kafka({ clientId: 'bench', brokers, logLevel: client.logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  await admin.disconnect()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const value = Buffer.alloc(size, 'x')
  const messages = Array.from({ length: chunk }, () => ({ value }))
  const start = process.hrtime.bigint()
  const pending = new Set()
  for (let sent = 0; sent < records; sent += chunk) {
    const send = producer.send({ topic, acks: 1, messages: sent + chunk <= records ? messages : messages.slice(0, records - sent) })
    pending.add(send)
    send.finally(() => pending.delete(send))
    if (pending.size >= inFlight) await Promise.race(pending)
  }
  await Promise.all(pending)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  await producer.disconnect()
  return records / seconds
}

const median = list => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]

async function main () {
  let embedded = null
  let brokers = option('brokers', null)
  if (brokers) brokers = brokers.split(',')
  else {
    embedded = await tidelog.EmbeddedBroker.start()
    brokers = embedded.brokers
  }
  const rates = { tidelog: [], kafkajs: [] }
  for (let run = 0; run < runs; run++) {
    for (const [name, client] of [['tidelog', tidelog], ['kafkajs', kafkajs]]) {
      const rate = await produce(client, brokers, `bench-${name}-${process.pid}-${run}`)
      rates[name].push(rate)
      console.log(`run ${run + 1} ${name}: ${Math.round(rate).toLocaleString('en')} records/s`)
    }
  }
  const [t, k] = [median(rates.tidelog), median(rates.kafkajs)]
  console.log(`median tidelog: ${Math.round(t).toLocaleString('en')} records/s`)
  console.log(`median kafkajs: ${Math.round(k).toLocaleString('en')} records/s`)
  console.log(`ratio tidelog / kafkajs: ${(t / k).toFixed(2)}`)
  if (embedded) await embedded.stop()
}

main().catch(e => { console.error(e); process.exit(1) })
