// KafkaJS-style producer throughput, for kafkajs and for tidelog's Node SDK (a drop-in
// for KafkaJS's core API), so both run the same code against the same broker.
//
//   node bench/node/producer.js MODULE HOST:PORT TOPIC RECORDS SIZE
//
// MODULE is what require() loads (a path to kafkajs or to bindings-node). Sends RECORDS
// values of SIZE bytes to partition 0 of TOPIC with acks=1, 1000 records per send() and
// up to 8 sends in flight, then prints {"records_per_s": ..., "seconds": ...}.
"use strict";

const [modulePath, broker, topic, recordsArg, sizeArg] = process.argv.slice(2);
const { Kafka, logLevel } = require(modulePath);
const records = Number(recordsArg);
const value = Buffer.alloc(Number(sizeArg), "x");
const perSend = 1000;
const inFlight = 8;

(async () => {
  const kafka = new Kafka({ clientId: "bench", brokers: [broker], logLevel: logLevel && logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const batch = Array.from({ length: perSend }, () => ({ value, partition: 0 }));
  const start = process.hrtime.bigint();
  const pending = new Set();
  for (let sent = 0; sent < records; sent += perSend) {
    const messages = batch.slice(0, Math.min(perSend, records - sent));
    const send = producer.send({ topic, acks: 1, messages }).then(() => pending.delete(send));
    pending.add(send);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ records_per_s: records / seconds, seconds }));
  await producer.disconnect();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
