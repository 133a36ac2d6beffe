// What a web page using nats.ws does against a server's WebSocket port (the URL in ?url=):
// connect, subscribe, publish (with and without headers), request/reply against a nats-py
// responder (subject browser.double), a request nobody answers, a publish for a nats-py
// subscriber (browser.to.python), then drain. The observations are written as JSON into #result,
// whose data-state becomes "done" (or "error" with the error) when the page has finished.
import { connect, Empty, headers, StringCodec } from "./node_modules/nats.ws/esm/nats.js";

const sc = StringCodec();
const result = document.getElementById("result");

function headerValues(hdrs) {
  if (!hdrs) return null;
  return Object.fromEntries(hdrs.keys().map((key) => [key, hdrs.values(key)]));
}

function describe(msg) {
  return { subject: msg.subject, data: sc.decode(msg.data), headers: headerValues(msg.headers) };
}

async function run(url) {
  const observed = {};
  const nc = await connect({ servers: url, name: "edgenats-browser-page", timeout: 5000, reconnect: false });
  observed.server = nc.getServer();
  const { server_id, server_name, version, proto, headers: hdrs, max_payload } = nc.info;
  observed.info = { server_id, server_name, version, proto, headers: hdrs, max_payload };

  const subscription = nc.subscribe("browser.greet.*", { max: 3 });
  const received = (async () => {
    const messages = [];
    for await (const msg of subscription) messages.push(describe(msg));
    return messages;
  })();
  await nc.flush();
  const greeting = headers();
  greeting.set("X-Site", "pi-7");
  greeting.append("X-Multi", "a");
  greeting.append("X-Multi", "b");
  nc.publish("browser.greet.one", sc.encode("hello"));
  nc.publish("browser.greet.two", sc.encode("with headers"), { headers: greeting });
  nc.publish("browser.greet.three", Empty);
  observed.received = await received;

  const requestHeaders = headers();
  requestHeaders.set("X-Request-Id", "req-42");
  const reply = await nc.request("browser.double", sc.encode("ab"), { timeout: 5000, headers: requestHeaders });
  observed.reply = describe(reply);

  try {
    await nc.request("browser.nobody.home", Empty, { timeout: 5000 });
    observed.noResponders = "answered";
  } catch (err) {
    observed.noResponders = err.code ?? String(err);
  }

  nc.publish("browser.to.python", sc.encode("from the browser"), { headers: greeting });
  await nc.flush();

  const closed = nc.closed();
  await nc.drain();
  const closedWith = await closed;
  observed.closedError = closedWith ? String(closedWith) : null;
  observed.isClosed = nc.isClosed();
  return observed;
}

const url = new URLSearchParams(location.search).get("url");
run(url).then(
  (observed) => {
    result.textContent = JSON.stringify(observed);
    result.dataset.state = "done";
  },
  (err) => {
    result.textContent = JSON.stringify({ error: String(err), code: err?.code ?? null });
    result.dataset.state = "error";
  },
);
