// The edgenats site dashboard: reads the monitoring port's JSON endpoints (/varz with edgenats'
// jetstream.store_disk, /connz, /leafz, /jsz, /servicez) every few seconds and renders them; the rate
// charts are SVG drawn here from the /varz counters sampled on each refresh. No dependencies.
// `?refresh=SECONDS` sets the interval.
"use strict";

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(Number(params.get("refresh")) || 2, 0.2) * 1000;
const HISTORY_MS = 5 * 60 * 1000;
const SVG = "http://www.w3.org/2000/svg";
const samples = [];
let round = 0;

// ---- formatting ----------------------------------------------------------------------------------

function count(n) {
  return Number(n || 0).toLocaleString("en-US");
}

function bytes(n) {
  const units = [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
  for (const [unit, scale] of units) {
    if (n >= scale) return `${(n / scale).toFixed(1)} ${unit}`;
  }
  return `${Math.round(n || 0)} B`;
}

function rate(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 10 || n === 0 ? `${Math.round(n)}` : n.toFixed(1);
}

function nanos(ns) {
  if (ns === null || ns === undefined) return "–";
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e3) return `${Math.round(ns / 1e3)} µs`;
  return `${ns} ns`;
}

// ---- DOM helpers -----------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// A table whose cells carry data-field, and rows data-key, so a reader (or a test) finds a value by name.
function table(columns, rows) {
  const head = el("tr", {}, ...columns.map(([, title, numeric]) => el("th", numeric ? { class: "num" } : {}, title)));
  const body = rows.map((row) => el("tr", { "data-key": row.key },
    ...columns.map(([field, , numeric]) => el("td", { "data-field": field, class: numeric ? "num" : "" },
      row[field] === undefined ? "" : String(row[field])))));
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

function note(text, kind = "muted") {
  return el("p", { class: kind }, text);
}

function setPanel(id, ...children) {
  document.querySelector(`#${id} .panel`).replaceChildren(...children);
}

function setMetric(name, text) {
  document.querySelector(`[data-metric="${name}"]`).textContent = text;
}

// ---- panels ------------------------------------------------------------------------------------------

function renderServer(varz) {
  document.getElementById("server-name").textContent = varz.server_name;
  document.title = `${varz.server_name} · edgenats`;
  document.getElementById("identity").textContent =
    `${varz.server_id} · NATS ${varz.version} · clients on ${varz.host}:${varz.port} · started ${varz.start}`;
  const host = varz.http_host || "0.0.0.0";
  const local = ["127.0.0.1", "localhost", "::1"].includes(host);
  const where = local ? `bound to ${host}:${varz.http_port}, this machine only`
    : `bound to ${host}:${varz.http_port}, reachable by anyone on the network`;
  const access = document.getElementById("access");
  const login = varz.http_auth_required ? "user and password required (http_user)"
    : "no user or password (set http_user and http_password to require one)";
  access.textContent = `Monitoring port: ${login}; ${where}.`;
  access.dataset.local = String(local);
  setMetric("uptime", varz.uptime);
  setMetric("cpu", `${Number(varz.cpu).toFixed(1)} %`);
  setMetric("mem", bytes(varz.mem));
  setMetric("connections", count(varz.connections));
}

function renderConnections(connz) {
  const clients = connz.connections.filter((c) => c.kind === "Client");
  if (clients.length === 0) {
    setPanel("connections", note("No clients connected."));
    return;
  }
  const rows = clients.map((c) => ({
    key: String(c.cid), name: c.name || "(no name)", address: `${c.ip}:${c.port}`, lang: c.lang || "",
    subscriptions: count(c.subscriptions), in_msgs: count(c.in_msgs), out_msgs: count(c.out_msgs),
    in_bytes: bytes(c.in_bytes), out_bytes: bytes(c.out_bytes), idle: c.idle,
  }));
  setPanel("connections", table([
    ["name", "Name"], ["address", "Address"], ["lang", "Language"], ["subscriptions", "Subs", true],
    ["in_msgs", "Msgs in", true], ["out_msgs", "Msgs out", true], ["in_bytes", "Bytes in", true],
    ["out_bytes", "Bytes out", true], ["idle", "Idle", true],
  ], rows));
}

function renderLeafs(leafz) {
  if (!("remotes" in leafz) && leafz.leafs.length === 0) {
    setPanel("leafs", note("Leaf links: not configured.", "not-configured"));
    return;
  }
  const links = new Map(leafz.leafs.map((link) => [link.id, link]));
  const rows = [];
  for (const remote of leafz.remotes || []) {
    const link = remote.link !== null ? links.get(remote.link) : undefined;
    if (link) links.delete(link.id);
    rows.push(leafRow(remote.urls[0], remote.state, link, remote.drain));
  }
  for (const link of links.values()) rows.push(leafRow(`${link.ip}:${link.port}`, link.state, link, link.drain));
  setPanel("leafs", rows.length ? table([
    ["peer", "Peer"], ["url", "Address"], ["state", "State"], ["rtt", "RTT", true], ["in_msgs", "Msgs in", true],
    ["out_msgs", "Msgs out", true], ["backlog", "Backlog", true], ["backlog_bytes", "Backlog size", true],
    ["lag", "Lag", true], ["drain", "Drain rate", true], ["limit", "Limit", true],
  ], rows) : note("No leaf links."));
}

function leafRow(url, state, link, drain) {
  return {
    key: link ? link.name : url, peer: link ? link.name : "–", url, state,
    rtt: link ? link.rtt : "–", in_msgs: link ? count(link.in_msgs) : "–", out_msgs: link ? count(link.out_msgs) : "–",
    backlog: drain ? count(drain.backlog_msgs) : "–", backlog_bytes: drain ? bytes(drain.backlog_bytes) : "–",
    lag: drain ? `${drain.lag_seconds.toFixed(1)} s` : "–",
    drain: drain ? `${rate(drain.rate_msgs)} msg/s · ${bytes(drain.rate_bytes)}/s` : "–",
    limit: drain ? (drain.limit_bytes ? `${bytes(drain.limit_bytes)}/s` : "unpaced") : "–",
  };
}

function renderJetStream(jsz, disk) {
  if (jsz.disabled) {
    setPanel("jetstream", note("JetStream: not configured.", "not-configured"));
    setMetric("disk-free", "–");
    return;
  }
  const parts = [];
  if (disk) {
    setMetric("disk-free", bytes(disk.free));
    const used = disk.total ? disk.used / disk.total : 0;
    const bar = el("div", { class: "bar", "data-used": used.toFixed(3) }, el("div", { class: "fill" }));
    bar.firstChild.style.width = `${(used * 100).toFixed(1)}%`;
    parts.push(el("div", { class: "storage", "data-key": "store_disk" },
      el("p", {}, `Disk of ${disk.path}: `, el("span", { "data-field": "used" }, bytes(disk.used)), " used of ",
        el("span", { "data-field": "total" }, bytes(disk.total)), ", ", el("span", { "data-field": "free" }, bytes(disk.free)),
        " free; streams hold ", el("span", { "data-field": "storage" }, bytes(jsz.storage)), "."),
      bar));
  }
  const streams = [];
  const consumers = [];
  for (const account of jsz.account_details || []) {
    for (const stream of account.stream_detail || []) {
      const s = stream.state;
      streams.push({
        key: `${account.name}/${stream.name}`, name: stream.name, account: account.name, messages: count(s.messages),
        bytes: bytes(s.bytes), first_seq: count(s.first_seq), last_seq: count(s.last_seq),
        consumers: count(s.consumer_count),
      });
      for (const consumer of stream.consumer_detail || []) {
        consumers.push({
          key: `${stream.name}/${consumer.name}`, stream: stream.name, name: consumer.name,
          num_pending: count(consumer.num_pending), num_ack_pending: count(consumer.num_ack_pending),
          ack_floor: count(consumer.ack_floor.stream_seq), delivered: count(consumer.delivered.stream_seq),
          num_redelivered: count(consumer.num_redelivered), num_waiting: count(consumer.num_waiting),
        });
      }
    }
  }
  parts.push(el("h3", {}, "Streams"));
  parts.push(streams.length ? el("div", { id: "streams" }, table([
    ["name", "Stream"], ["account", "Account"], ["messages", "Messages", true], ["bytes", "Bytes", true],
    ["first_seq", "First seq", true], ["last_seq", "Last seq", true], ["consumers", "Consumers", true],
  ], streams)) : note("No streams."));
  parts.push(el("h3", {}, "Consumers"));
  parts.push(consumers.length ? el("div", { id: "consumers" }, table([
    ["stream", "Stream"], ["name", "Consumer"], ["num_pending", "Pending", true],
    ["num_ack_pending", "Awaiting ack", true], ["ack_floor", "Ack floor", true], ["delivered", "Delivered", true],
    ["num_redelivered", "Redelivered", true], ["num_waiting", "Waiting pulls", true],
  ], consumers)) : note("No consumers."));
  setPanel("jetstream", ...parts);
}

function renderServices(servicez) {
  const rows = [];
  for (const service of servicez.services) {
    service.endpoints.forEach((endpoint, index) => {
      rows.push({
        key: `${service.name}/${service.id}/${endpoint.name}`, service: index ? "" : service.name,
        id: index ? "" : service.id, version: index ? "" : service.version, endpoint: endpoint.name,
        subject: endpoint.subject, requests: endpoint.num_requests === null ? "–" : count(endpoint.num_requests),
        errors: endpoint.num_errors === null ? "–" : count(endpoint.num_errors),
        average: nanos(endpoint.average_processing_time),
      });
    });
  }
  setPanel("services", rows.length ? table([
    ["service", "Service"], ["id", "Instance"], ["version", "Version"], ["endpoint", "Endpoint"],
    ["subject", "Subject"], ["requests", "Requests", true], ["errors", "Errors", true],
    ["average", "Average time", true],
  ], rows) : note("No services answered $SRV discovery."));
}

// ---- rates and charts --------------------------------------------------------------------------------

function addSample(varz) {
  const now = Date.now();
  samples.push({ t: now, in_msgs: varz.in_msgs, out_msgs: varz.out_msgs, in_bytes: varz.in_bytes,
    out_bytes: varz.out_bytes });
  while (samples.length > 2 && now - samples[0].t > HISTORY_MS) samples.shift();
}

function rates(field) {
  const points = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].t - samples[i - 1].t) / 1000;
    points.push({ t: samples[i].t, v: Math.max(samples[i][field] - samples[i - 1][field], 0) / seconds });
  }
  return points;
}

function drawChart(id, series, format) {
  const figure = document.getElementById(id);
  const width = 600, height = 160, pad = 4;
  const all = series.flatMap((s) => s.points.map((p) => p.v));
  const max = Math.max(1, ...all);
  // The time axis grows with the samples taken, up to the last HISTORY_MS.
  const end = Date.now(), start = Math.max(end - HISTORY_MS, samples.length ? samples[0].t : end - 1);
  const span = Math.max(end - start, 1);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  for (const fraction of [0.25, 0.5, 0.75]) {
    const grid = document.createElementNS(SVG, "line");
    const y = pad + (height - 2 * pad) * fraction;
    for (const [k, v] of Object.entries({ x1: 0, x2: width, y1: y, y2: y, class: "grid" })) grid.setAttribute(k, v);
    svg.append(grid);
  }
  for (const s of series) {
    const line = document.createElementNS(SVG, "polyline");
    const coords = s.points.map((p) => {
      const x = ((p.t - start) / span) * width;
      const y = height - pad - (p.v / max) * (height - 2 * pad);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    line.setAttribute("points", coords.join(" "));
    line.setAttribute("class", `series ${s.name}`);
    line.setAttribute("data-series", s.name);
    svg.append(line);
  }
  const legend = el("div", { class: "legend" },
    ...series.map((s) => {
      const last = s.points.length ? s.points[s.points.length - 1].v : 0;
      return el("span", { class: `key ${s.name}`, "data-series": s.name, "data-last": String(last) },
        `${s.label} ${format(last)}`);
    }),
    el("span", { class: "max", "data-max": String(max) }, `max ${format(max)}`));
  figure.replaceChildren(figure.querySelector("figcaption"), svg, legend);
}

function renderRates() {
  const msgsIn = rates("in_msgs"), msgsOut = rates("out_msgs");
  const last = (points) => (points.length ? points[points.length - 1].v : 0);
  setMetric("rate-in", rate(last(msgsIn)));
  setMetric("rate-out", rate(last(msgsOut)));
  drawChart("chart-msgs", [{ name: "in", label: "in", points: msgsIn }, { name: "out", label: "out", points: msgsOut }],
    (v) => `${rate(v)}/s`);
  drawChart("chart-bytes", [{ name: "in", label: "in", points: rates("in_bytes") },
    { name: "out", label: "out", points: rates("out_bytes") }], (v) => `${bytes(v)}/s`);
  const seconds = samples.length > 1 ? Math.round((samples[samples.length - 1].t - samples[0].t) / 1000) : 0;
  document.getElementById("rates-window").textContent = `(last ${seconds} s of up to ${HISTORY_MS / 60000} min)`;
}

// ---- refresh loop ------------------------------------------------------------------------------------

async function getJSON(path) {
  const reply = await fetch(`../${path}`, { cache: "no-store" });
  if (!reply.ok) throw new Error(`${path}: HTTP ${reply.status}`);
  return reply.json();
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const [varz, connz, leafz, jsz, servicez] = await Promise.all([
      getJSON("varz"), getJSON("connz"), getJSON("leafz"),
      getJSON("jsz?accounts=true&streams=true&consumers=true"), getJSON("servicez"),
    ]);
    addSample(varz);
    renderServer(varz);
    renderConnections(connz);
    renderLeafs(leafz);
    renderJetStream(jsz, (varz.jetstream || {}).store_disk);
    renderServices(servicez);
    renderRates();
    problem.hidden = true;
    round += 1;
    document.body.dataset.round = String(round);
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    document.dispatchEvent(new CustomEvent("dashboard:updated", { detail: { round } }));
  } catch (error) {
    problem.textContent = `Cannot read the broker's monitoring port: ${error.message}. Showing the last data.`;
    problem.hidden = false;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

document.getElementById("refresh-seconds").textContent = String(REFRESH_MS / 1000);
refresh();
