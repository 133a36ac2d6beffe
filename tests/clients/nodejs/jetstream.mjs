// A JetStream session with the official nats.js client: node jetstream.mjs NATS_URL
// Prints one JSON object: what each step saw, as a user of nats.js sees it (values, error codes).
// Every step catches its own error so that one difference does not hide the others.
import { AckPolicy, connect, consumerOpts, createInbox, headers, StorageType } from "nats";

const url = process.argv[2];
const seen = {};

async function step(name, body) {
  try {
    seen[name] = await body();
  } catch (error) {
    seen[name] = { error: error.api_error ?? error.code ?? String(error.message ?? error) };
  }
}

const nc = await connect({ servers: url, name: "nodejs-jetstream" });
const jsm = await nc.jetstreamManager();
const js = nc.jetstream();

await step("stream add", async () => {
  const info = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: StorageType.File });
  return { name: info.config.name, subjects: info.config.subjects, messages: info.state.messages };
});
await step("overlapping stream", async () => {
  await jsm.streams.add({ name: "OTHER", subjects: ["orders.eu"] });
  return "created";
});
await step("publish", async () => {
  const acks = [];
  for (let i = 1; i <= 5; i++) {
    const ack = await js.publish(`orders.${i % 2 ? "eu" : "us"}`, `order ${i}`, { msgID: `order-${i}` });
    acks.push({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate });
  }
  return acks;
});
await step("duplicate publish", async () => {
  const ack = await js.publish("orders.eu", "order 1 again", { msgID: "order-1" });
  return { seq: ack.seq, duplicate: ack.duplicate };
});
await step("expected last sequence", async () => {
  await js.publish("orders.eu", "late", { expect: { lastSequence: 2 } });
  return "stored";
});
await step("publish with headers", async () => {
  const h = headers();
  h.set("Origin", "sensor-7");
  const ack = await js.publish("orders.us", "with headers", { headers: h });
  return ack.seq;
});
await step("stream info", async () => {
  const info = await jsm.streams.info("ORDERS");
  return { messages: info.state.messages, first: info.state.first_seq, last: info.state.last_seq };
});
await step("get message", async () => {
  const m = await jsm.streams.getMessage("ORDERS", { seq: 6 });
  return { subject: m.subject, seq: m.seq, data: m.string(), origin: m.header.get("Origin") };
});
await step("last by subject", async () => {
  const m = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.eu" });
  return { seq: m.seq, data: m.string() };
});
await step("consumer add", async () => {
  const info = await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit });
  return { name: info.name, pending: info.num_pending };
});
await step("fetch and ack", async () => {
  const consumer = await js.consumers.get("ORDERS", "worker");
  const messages = await consumer.fetch({ max_messages: 4, expires: 2000 });
  const got = [];
  for await (const m of messages) {
    got.push({ seq: m.seq, subject: m.subject, data: m.string(), redelivered: m.redelivered });
    m.ack();
  }
  await nc.flush();
  return got;
});
await step("consumer info after acks", async () => {
  const info = await jsm.consumers.info("ORDERS", "worker");
  return { floor: info.ack_floor.stream_seq, ack_pending: info.num_ack_pending, pending: info.num_pending };
});
await step("ordered consumer", async () => {
  const consumer = await js.consumers.get("ORDERS", { filterSubjects: ["orders.eu"] });
  const messages = await consumer.fetch({ max_messages: 3, expires: 2000 });
  const got = [];
  for await (const m of messages) got.push({ seq: m.seq, data: m.string() });
  return got;
});
await step("push subscribe", async () => {
  const opts = consumerOpts().durable("pusher").deliverTo(createInbox()).ackExplicit().filterSubject("orders.us");
  const subscription = await js.subscribe("orders.us", opts);
  const got = [];
  for await (const m of subscription) {
    got.push({ seq: m.seq, subject: m.subject, pending: m.info.pending });
    m.ack();
    if (m.info.pending === 0) break;
  }
  await nc.flush();
  const info = await jsm.consumers.info("ORDERS", "pusher");
  return { got, floor: info.ack_floor.stream_seq, bound: info.push_bound === true };
});
await step("key-value", async () => {
  const kv = await js.views.kv("site", { history: 3 });
  const first = await kv.put("pump.speed", "10");
  await kv.put("pump.speed", "12");
  await kv.put("valve.open", "yes");
  const entry = await kv.get("pump.speed");
  let stale;
  try {
    await kv.update("pump.speed", "99", first);
    stale = "updated";
  } catch (error) {
    stale = error.api_error?.err_code ?? String(error.message);
  }
  await kv.delete("valve.open");
  const keys = [];
  for await (const key of await kv.keys()) keys.push(key);
  const history = [];
  for await (const e of await kv.history({ key: "pump.speed" })) history.push([e.revision, e.string()]);
  const status = await kv.status();
  return { first, value: entry.string(), revision: entry.revision, stale, keys, history,
           values: status.values, bucket: status.bucket };
});
await step("delete message", async () => {
  return await jsm.streams.deleteMessage("ORDERS", 1);
});
await step("purge subject", async () => {
  const purged = await jsm.streams.purge("ORDERS", { filter: "orders.us" });
  return purged.purged;
});
await step("stream names", async () => {
  const names = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names;
});
await step("delete stream", async () => await jsm.streams.delete("ORDERS"));
await step("missing stream", async () => {
  await jsm.streams.info("ORDERS");
  return "found";
});

await nc.close();
process.stdout.write(JSON.stringify(seen) + "\n");
