// The millrace dashboard: draws the figures /api/stream sends every second.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const KEEP_SECONDS = 300; // how much history the charts keep
const HOT_SHARE = 0.1; // a step's box names its hottest key from this share of its input on
const FULL_QUEUE = 0.8; // a queue this full is shown as full
// samples are {t, input, output, p50, p99}, oldest first; p50 and p99 are in milliseconds,
// null when no sink measured latency in that second.
const samples = [];

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function rate(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
  return v.toFixed(v < 10 ? 1 : 0);
}

function pct(v) { return (v * 100).toFixed(0) + "%"; }

// share writes a key's share of its step's input, with a decimal below 10%.
function share(v) { return (v * 100).toFixed(v < 0.1 ? 1 : 0) + "%"; }

function known(v) { return v !== null && v !== undefined; }

// brief writes v with two decimals below 1, one below 10 and none above, dropping trailing
// zeros: 0.26, 3.2, 2, 38.
function brief(v) {
  const s = v < 1 ? v.toFixed(2) : v < 10 ? v.toFixed(1) : v.toFixed(0);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

// millis writes a duration given in milliseconds: "0.26 ms", "38 ms", "1.5 s"; "—" when
// there is none.
function millis(v) {
  if (!known(v)) return "—";
  if (v < 1000) return brief(v) + " ms";
  return seconds(v / 1000);
}

// seconds writes a duration given in seconds: "12 ms", "3.2 s", "4.5 min", "2 h", "3 d";
// "—" when there is none.
function seconds(v) {
  if (!known(v)) return "—";
  if (v < 1) return millis(v * 1000);
  if (v < 60) return brief(v) + " s";
  if (v < 3600) return brief(v / 60) + " min";
  if (v < 86400) return brief(v / 3600) + " h";
  return brief(v / 86400) + " d";
}

// bytes writes a size in binary units: "512 B", "18.5 KiB", "271 MiB".
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n < 100 ? n.toFixed(1) : n.toFixed(0)) + " " + units[i];
}

// clip shortens s to at most n characters, ending in "…" when it cut.
function clip(s, n) { return s.length <= n ? s : s.slice(0, n - 1) + "…"; }

// busyColour runs from green (idle) to red (saturated).
function busyColour(busy) {
  const hue = 120 * (1 - Math.min(Math.max(busy, 0), 1));
  return "hsl(" + hue.toFixed(0) + ", 65%, 72%)";
}

function hottest(n) { return (n.hot_keys || []).reduce((a, h) => (!a || h.share > a.share ? h : a), null); }

function latencyText(n) {
  if (!known(n.latency_p50_ms) && !known(n.latency_p99_ms)) return "latency —";
  return "latency p50 " + millis(n.latency_p50_ms) + "  p99 " + millis(n.latency_p99_ms);
}

// nodeLines are the lines of figures a step's box shows under its name, each with a class
// naming what it shows; a line marked full shows its text in bold red, then the rest (more).
function nodeLines(n) {
  const lines = [
    { cls: "kind", text: (n.kind || "step") + " ×" + n.parallelism },
    { cls: "rates", text: "in " + rate(n.in_rate) + "/s  out " + rate(n.out_rate) + "/s" },
    { cls: "load", text: "busy " + pct(n.busy) + "  backpressure " + pct(n.backpressure) },
    { cls: "queue", text: "queue " + pct(n.queue_fill), full: n.queue_fill >= FULL_QUEUE, more: "  watermark lag " + seconds(n.watermark_lag_s) },
    { cls: "latency", text: latencyText(n) },
  ];
  const size = [];
  if (n.state_bytes > 0) size.push("state " + bytes(n.state_bytes));
  if (known(n.backlog_bytes)) size.push("backlog " + bytes(n.backlog_bytes));
  if (known(n.lag_records)) size.push("lag " + (n.lag_records >= 1000 ? rate(n.lag_records) : String(n.lag_records)) + " records");
  if (size.length) lines.push({ cls: "size", text: size.join("  ") });
  const away = Object.keys(n.unreachable || {}).length;
  if (away) lines.push({ cls: "outage", text: "unreachable: " + away + (away === 1 ? " partition" : " partitions"), full: true });
  const hot = hottest(n);
  if (hot && hot.share >= HOT_SHARE) lines.push({ cls: "hot", text: "hot key " + clip(hot.key, 16) + "  " + share(hot.share) + " of input" });
  return lines;
}

// nodeTitle is every figure of a step, for the tooltip of its box.
function nodeTitle(n, verdict) {
  const t = [
    n.id + " (" + (n.kind || "step") + " ×" + n.parallelism + ")",
    "in " + rate(n.in_rate) + "/s, out " + rate(n.out_rate) + "/s",
    "busy " + pct(n.busy) + ", backpressure " + pct(n.backpressure) + ", idle " + pct(n.idle),
    "busiest subtask " + n.busiest_subtask + ": busy " + pct(n.busiest_busy),
    "input queue " + pct(n.queue_fill) + " full, watermark lag " + seconds(n.watermark_lag_s),
    "latency from ingest: p50 " + millis(n.latency_p50_ms) + ", p99 " + millis(n.latency_p99_ms),
  ];
  if (n.state_bytes > 0) t.push("state " + bytes(n.state_bytes));
  if (known(n.backlog_bytes)) t.push("backlog " + bytes(n.backlog_bytes));
  if (known(n.lag_records)) {
    const parts = Object.entries(n.partition_lag || {}).map(([p, lag]) => "partition " + p + ": " + lag);
    t.push("lag " + n.lag_records + " records at the broker" + (parts.length ? " (" + parts.join(", ") + ")" : ""));
  }
  for (const [p, why] of Object.entries(n.unreachable || {})) t.push("partition " + p + " waits for its broker: " + why);
  for (const h of n.hot_keys || []) t.push("hot key " + h.key + ": " + share(h.share) + " of input, subtask " + h.subtask);
  if (verdict && verdict.node === n.id) t.push("BOTTLENECK: " + verdict.reason);
  if (n.bottleneck_worker) t.push("held back by " + n.bottleneck_worker.reason); // the reason starts "worker ID: "
  return t.join("\n");
}

// busiestStep is the step of a worker with the busiest subtask, or null.
function busiestStep(w) {
  return (w.steps || []).reduce((a, s) => (!a || s.busiest_busy > a.busiest_busy ? s : a), null);
}

// ago writes how long before now (in the page's clock) an RFC 3339 time was.
function ago(at) { return seconds(Math.max(Date.now() / 1000 - serverTime(at), 0)) + " ago"; }

// drawWorkers fills the workers panel from a topology that carries the cluster's workers,
// and hides it when the topology has none (a run that is not part of a cluster).
function drawWorkers(top) {
  const section = document.getElementById("workers");
  const workers = top.workers || [];
  section.hidden = workers.length === 0;
  if (section.hidden) return;
  const v = top.worker_verdict || {};
  const box = document.getElementById("worker-verdict");
  box.textContent = v.reason || "no verdict";
  box.className = "verdict" + (v.worker ? " bottleneck" : "");
  const head = cells("th", ["worker", "host", "owned", "in/s", "busy", "lag", "last checkpoint", "rebalance", "waiting"]);
  head.children[2].className = head.lastChild.className = "text";
  const rows = [head];
  for (const w of workers) {
    const b = busiestStep(w);
    const cp = w.checkpoint;
    const tr = cells("td", [w.worker + (w.stale ? " (stale)" : ""), w.host, w.owned || "—", rate(w.in_rate || 0),
      b ? pct(b.busiest_busy) + " " + b.step : "—",
      (w.lag_records >= 1000 ? rate(w.lag_records) : String(w.lag_records || 0)) + (w.max_lag ? " (most on " + w.max_lag.partition + ")" : ""),
      cp ? "#" + cp.id + ", " + ago(cp.at) : "—",
      w.rebalances ? seconds(w.rebalance_pause_s) + " (" + w.rebalances + ")" : "—",
      w.waiting || ""]);
    tr.children[2].className = "text";
    tr.lastChild.className = "text" + (w.waiting ? " bad" : "");
    tr.dataset.worker = w.worker;
    const classes = [];
    if (w.stale) classes.push("stale");
    if (v.worker && v.worker === w.worker) {
      classes.push("bottleneck");
      tr.title = v.reason;
    }
    tr.className = classes.join(" ");
    rows.push(tr);
  }
  document.getElementById("worker-table").replaceChildren(...rows);
}

// depths places every node one column right of its deepest input.
function depths(nodes, edges) {
  const ins = {};
  for (const n of nodes) ins[n.id] = [];
  for (const e of edges) if (ins[e.to] && ins[e.from]) ins[e.to].push(e.from);
  const depth = {};
  const visit = (id, seen) => {
    if (depth[id] !== undefined) return depth[id];
    if (seen.has(id)) return 0; // a cycle: should not happen in a plan
    seen.add(id);
    let d = 0;
    for (const f of ins[id]) d = Math.max(d, visit(f, seen) + 1);
    depth[id] = d;
    return d;
  };
  for (const n of nodes) visit(n.id, new Set());
  return depth;
}

const BOX_W = 250, LINE_H = 16, GAP_X = 110, GAP_Y = 28, PAD = 10;
let boxLines = 0; // lines of figures a box has room for; grows, never shrinks, so the drawing holds still

function drawDag(top) {
  const nodes = top.nodes || [], edges = top.edges || [];
  const depth = depths(nodes, edges);
  const lines = {};
  for (const n of nodes) {
    lines[n.id] = nodeLines(n);
    boxLines = Math.max(boxLines, lines[n.id].length);
  }
  const BOX_H = 18 + LINE_H * boxLines + 10, COL_W = BOX_W + GAP_X, ROW_H = BOX_H + GAP_Y;
  const inputs = {};
  for (const e of edges) (inputs[e.to] ||= []).push(e);
  // each column keeps the plan's order, moved so that a step sits near its inputs
  const columns = [];
  for (const n of nodes) (columns[depth[n.id]] ||= []).push(n);
  const row = {}, pos = {};
  let rows = 0;
  columns.forEach((col, c) => {
    col = col || [];
    const near = n => {
      const ins = (inputs[n.id] || []).filter(e => row[e.from] !== undefined);
      return ins.length ? ins.reduce((s, e) => s + row[e.from], 0) / ins.length : 0;
    };
    if (c > 0) col.sort((a, b) => near(a) - near(b));
    col.forEach((n, r) => {
      row[n.id] = r;
      pos[n.id] = { x: PAD + c * COL_W, y: PAD + 18 + r * ROW_H };
    });
    rows = Math.max(rows, col.length);
  });
  const width = PAD * 2 + Math.max(columns.length - 1, 0) * COL_W + BOX_W;
  const height = PAD * 2 + 18 + rows * ROW_H - GAP_Y;
  const svg = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height });
  for (const e of edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    // several inputs of one step come in at different heights, each with its rate beside it
    const ins = inputs[e.to], k = ins.indexOf(e);
    const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = b.x, y2 = b.y + BOX_H * (k + 1) / (ins.length + 1), mx = (x1 + x2) / 2;
    svg.appendChild(el("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    svg.appendChild(el("text", { class: "rate", x: x2 - 6, y: y2 - 5, "text-anchor": "end" }, rate(e.rate) + "/s"));
  }
  const bottleneck = top.verdict && top.verdict.node;
  for (const n of nodes) {
    const p = pos[n.id];
    const g = el("g", { transform: `translate(${p.x},${p.y})`, "data-node": n.id });
    const hot = n.id === bottleneck;
    g.appendChild(el("title", {}, nodeTitle(n, top.verdict)));
    g.appendChild(el("rect", { class: "node" + (hot ? " bottleneck" : ""), width: BOX_W, height: BOX_H, rx: 6, fill: busyColour(n.busy) }));
    g.appendChild(el("text", { class: "name", x: 8, y: 18 }, clip(n.id, 30)));
    lines[n.id].forEach((l, i) => {
      const t = el("text", { class: l.cls, x: 8, y: 18 + LINE_H * (i + 1) });
      t.append(l.full ? el("tspan", { class: "full" }, l.text) : l.text, l.more || "");
      g.appendChild(t);
    });
    if (hot) g.appendChild(el("text", { class: "mark", x: 0, y: -6 }, "▼ BOTTLENECK"));
    svg.appendChild(g);
  }
  document.getElementById("dag").replaceChildren(svg);
}

function drawVerdict(top) {
  const v = document.getElementById("verdict");
  v.textContent = (top.verdict && top.verdict.reason) || "no verdict";
  v.className = "verdict" + (top.verdict && top.verdict.node ? " bottleneck" : "");
}

// drawNodes fills the table of steps with every figure of each.
function drawNodes(top) {
  const head = cells("th", ["step", "kind", "×", "in/s", "out/s", "busy", "backpressure", "idle", "busiest subtask",
    "queue", "watermark lag", "p50", "p99", "state", "backlog", "hot keys"]);
  head.children[1].className = head.lastChild.className = "text";
  const rows = [head];
  const bottleneck = top.verdict && top.verdict.node;
  for (const n of top.nodes || []) {
    const tr = cells("td", [n.id, n.kind || "step", n.parallelism, rate(n.in_rate), rate(n.out_rate),
      pct(n.busy), pct(n.backpressure), pct(n.idle), "#" + n.busiest_subtask + " " + pct(n.busiest_busy),
      pct(n.queue_fill), seconds(n.watermark_lag_s), millis(n.latency_p50_ms), millis(n.latency_p99_ms),
      n.state_bytes > 0 ? bytes(n.state_bytes) : "", known(n.backlog_bytes) ? bytes(n.backlog_bytes) : "",
      (n.hot_keys || []).map(h => h.key + " " + share(h.share) + " (#" + h.subtask + ")").join("\n")]);
    tr.children[1].className = "text";
    tr.lastChild.className = "text keys";
    tr.dataset.node = n.id;
    if (n.id === bottleneck) tr.className = "bottleneck";
    rows.push(tr);
  }
  document.getElementById("nodes").replaceChildren(...rows);
}

// ends are the sinks, or the steps nothing reads from when the plan has no sink.
function ends(top) {
  const nodes = top.nodes || [];
  const sinks = nodes.filter(n => n.kind === "sink");
  if (sinks.length) return sinks;
  const from = new Set((top.edges || []).map(e => e.from));
  return nodes.filter(n => !from.has(n.id));
}

// worst is the largest of the known values of key over nodes, or null.
function worst(nodes, key) {
  let w = null;
  for (const n of nodes) if (known(n[key]) && (w === null || n[key] > w)) w = n[key];
  return w;
}

// record adds a sample of input rate (rows the sources read), throughput (rows the sinks
// took in, or the rows leaving the last steps when the plan has no sink) and the latency
// from ingest to the slowest sink.
function record(top) {
  const nodes = top.nodes || [], last = ends(top);
  let input = 0, output = 0;
  for (const n of nodes) if (n.kind === "source") input += n.in_rate;
  for (const n of last) output += n.kind === "sink" ? n.in_rate : n.out_rate;
  const now = Date.now() / 1000;
  samples.push({ t: now, input: input, output: output, p50: worst(last, "latency_p50_ms"), p99: worst(last, "latency_p99_ms") });
  while (samples.length && samples[0].t < now - KEEP_SECONDS) samples.shift();
}

const CW = 600, CH = 180, CL = 58, CR = 10, CT = 10, CB = 22;

// timeAxis draws the axes of a chart and returns the x of a time; the time axis grows with
// the history, from one minute up to KEEP_SECONDS.
function timeAxis(svg) {
  const now = Date.now() / 1000;
  const span = Math.min(KEEP_SECONDS, Math.max(60, samples.length ? now - samples[0].t : 0));
  svg.replaceChildren(
    el("line", { x1: CL, y1: CH - CB, x2: CW - CR, y2: CH - CB, stroke: "#999" }),
    el("line", { x1: CL, y1: CT, x2: CL, y2: CH - CB, stroke: "#999" }),
    el("text", { x: CL, y: CH - 6 }, "-" + Math.round(span) + " s"),
    el("text", { x: CW - CR - 24, y: CH - 6 }, "now"),
  );
  return t => CL + (CW - CL - CR) * (1 - (now - t) / span);
}

function drawRates() {
  const svg = document.getElementById("chart");
  const x = timeAxis(svg);
  let top = 1;
  for (const s of samples) top = Math.max(top, s.input, s.output);
  const y = v => CH - CB - (CH - CT - CB) * v / top;
  const line = key => samples.map(s => x(s.t).toFixed(1) + "," + y(s[key]).toFixed(1)).join(" ");
  svg.append(
    el("text", { x: 4, y: CT + 10 }, rate(top)),
    el("text", { x: 4, y: CH - CB }, "0"),
    el("polyline", { class: "in", points: line("input") }),
    el("polyline", { class: "out", points: line("output") }),
  );
  const last = samples[samples.length - 1];
  if (last) {
    svg.appendChild(el("circle", { class: "in", cx: x(last.t), cy: y(last.input), r: 3 }));
    svg.appendChild(el("circle", { class: "out", cx: x(last.t), cy: y(last.output), r: 3 }));
  }
}

// drawLatency draws p50 and p99 on a logarithmic scale of whole decades, a line broken
// where a second had no figure.
function drawLatency() {
  const svg = document.getElementById("latency");
  const x = timeAxis(svg);
  const all = samples.flatMap(s => [s.p50, s.p99]).filter(v => known(v) && v > 0);
  let lo = all.length ? Math.floor(Math.log10(Math.min(...all))) : 0;
  let hi = all.length ? Math.ceil(Math.log10(Math.max(...all))) : 2;
  if (hi <= lo) hi = lo + 1;
  const y = v => CH - CB - (CH - CT - CB) * (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo);
  const step = Math.ceil((hi - lo) / 6); // at most 7 labelled decades
  for (let d = lo; d <= hi; d += step) {
    svg.append(
      el("line", { class: "grid", x1: CL, y1: y(10 ** d), x2: CW - CR, y2: y(10 ** d) }),
      el("text", { x: 4, y: y(10 ** d) + 4 }, millis(10 ** d)),
    );
  }
  for (const key of ["p50", "p99"]) {
    let d = "", pen = "M";
    for (const s of samples) {
      if (!known(s[key])) { pen = "M"; continue; }
      d += pen + x(s.t).toFixed(1) + "," + y(s[key]).toFixed(1) + " ";
      pen = "L";
    }
    svg.appendChild(el("path", { class: key, d: d.trim() }));
    const last = samples[samples.length - 1];
    if (last && known(last[key])) svg.appendChild(el("circle", { class: key, cx: x(last.t), cy: y(last[key]), r: 3 }));
    document.getElementById(key + "-now").textContent = millis(last ? last[key] : null);
  }
}

function cells(tag, values) {
  const tr = document.createElement("tr");
  for (const v of values) {
    const c = document.createElement(tag);
    c.textContent = v;
    tr.appendChild(c);
  }
  return tr;
}

function drawLedger(view) {
  const t = document.getElementById("ledger");
  const l = view.ledger || {};
  const rows = [cells("th", ["source", "read", "accepted", "rejected", "late"])];
  for (const s of l.sources || []) rows.push(cells("td", [s.name, s.read, s.accepted, s.rejected, s.late]));
  rows.push(cells("th", ["view", "in", "filtered", "errors", "kept", "out"]));
  for (const v of l.views || []) rows.push(cells("td", [v.name, v.in, v.filtered, v.errors, v.kept, v.out]));
  t.replaceChildren(...rows);
  const b = document.getElementById("balanced");
  b.textContent = view.balanced ? "balanced" : "NOT balanced";
  b.className = view.balanced ? "good" : "bad";
}

async function refreshDeadLetters() {
  try {
    const resp = await fetch("api/dead-letters?limit=10");
    if (!resp.ok) return;
    const dead = await resp.json();
    const t = document.getElementById("dead");
    const rows = [cells("th", ["source", "where", "reason", "raw"])];
    for (const d of dead) rows.push(cells("td", [d.source, d.where, d.reason, d.raw]));
    if (dead.length === 0) rows.push(cells("td", ["none", "", "", ""]));
    t.replaceChildren(...rows);
  } catch (e) {
    // the server is gone; the stream's status says so
  }
}

// Scaling advice is not on the stream: the page polls /api/scale, which a server without a
// scaling advisor does not serve (404) and which has nothing before the advisor's first
// step (503).
const SCALE_POLL_MS = 2000;
const DECISIONS_SHOWN = 10;
// advice are {t, rate, mean, hi, ahead, capacity}, one per advice seen, oldest first, in
// seconds of the server's clock: the input rate at t, the forecast for the time ahead, and
// the capacity of the workers then (null until measured).
const advice = [];

// serverTime reads an RFC 3339 time in seconds; a browser may not read more than
// milliseconds.
function serverTime(s) { return Date.parse(String(s).replace(/(\.\d{3})\d+/, "$1")) / 1000; }

function clock(t) { return new Date(t * 1000).toLocaleTimeString(); }

// recordAdvice keeps a new advice for the chart; the page polls faster than a slow advisor
// steps, so it sees the same advice more than once.
function recordAdvice(a) {
  const t = serverTime(a.at), f = a.forecast || {};
  const last = advice[advice.length - 1];
  if (last && t === last.t) return;
  if (last && t < last.t) advice.length = 0; // a new run behind the same address
  advice.push({ t: t, rate: a.rate, mean: f.mean, hi: f.hi, ahead: serverTime(a.forecast_at),
    capacity: a.capacity_per_worker > 0 ? a.workers * a.capacity_per_worker : null });
  while (advice.length && advice[0].ahead < t - KEEP_SECONDS) advice.shift();
}

function workers(n) { return n + (n === 1 ? " worker" : " workers"); }

// drawAdvice writes what the advisor wants and why, and the figures it decided on.
function drawAdvice(a) {
  document.getElementById("scale-mode").textContent = a.acts
    ? "(the run rescales itself: a worker is one subtask of every step)"
    : "(advice for the scheduler, every advisor step)";
  const box = document.getElementById("scale-advice");
  box.className = "advice" + (a.desired_workers !== a.workers ? " change" : "");
  document.getElementById("scale-workers").textContent = "desired " + workers(a.desired_workers) + ", running " + a.workers + ":";
  document.getElementById("scale-reason").textContent = a.reason || "";
  const f = a.forecast || {};
  const capacity = a.capacity_per_worker > 0
    ? "capacity " + rate(a.capacity_per_worker) + "/s per worker, bound by step " + (a.bottleneck || "—")
    : "capacity not measured yet";
  document.getElementById("scale-figures").textContent = capacity + " · input " + rate(a.rate) + "/s · forecast " +
    rate(f.mean || 0) + "/s (up to " + rate(f.hi || 0) + "/s) at " + clock(serverTime(a.forecast_at));
  document.getElementById("scale-rate-now").textContent = rate(a.rate) + "/s";
}

// liveParallelism holds each step's parallelism as the latest topology event gave it: after a
// rescale it is ahead of the advice, which comes every advisor step.
const liveParallelism = new Map();
let lastAdvice = null;

// drawSteps lists each measured step's parallelism now (the live one, so that the table
// agrees with the dataflow right after a rescale) and the one the advice needs.
function drawSteps(a) {
  lastAdvice = a;
  const steps = a.steps || [];
  const rows = [cells("th", ["step", "parallelism", "desired", "per subtask", "busy"])];
  for (const s of steps) {
    const now = liveParallelism.has(s.node) ? liveParallelism.get(s.node) : s.parallelism;
    const tr = cells("td", [s.node, now, s.desired_parallelism, rate(s.true_rate) + "/s", Math.round(s.utilization * 100) + "%"]);
    if (s.desired_parallelism !== now) tr.className = "change";
    rows.push(tr);
  }
  if (steps.length === 0) rows.push(cells("td", ["not measured yet", "", "", "", ""]));
  document.getElementById("scale-steps").replaceChildren(...rows);
}

// drawDecisions lists the advisor's recent decisions, newest first; a decision that changed
// the worker count stands out.
function drawDecisions(a) {
  const ds = a.decisions || [];
  const rows = [cells("th", ["time", "workers", "need", "reason"])];
  for (let i = ds.length - 1; i >= 0 && rows.length <= DECISIONS_SHOWN; i--) {
    const d = ds[i];
    const tr = cells("td", [clock(serverTime(d.at)), d.workers, d.need, d.reason]);
    if (i > 0 && ds[i - 1].workers !== d.workers) tr.className = "change";
    rows.push(tr);
  }
  if (ds.length === 0) rows.push(cells("td", ["none yet", "", "", ""]));
  document.getElementById("decisions").replaceChildren(...rows);
}

// drawScaleChart draws the input rate as the advisor saw it, its forecasts at the times they
// are for (so they run a horizon ahead of the input), and the capacity of the workers,
// held on as a dotted line past now. The time axis reaches from up to KEEP_SECONDS ago (at
// least a minute) to the last forecast; the rates are on a log scale of whole decades, as
// capacity is often far above the input.
function drawScaleChart() {
  const svg = document.getElementById("scale-chart");
  svg.replaceChildren();
  if (!advice.length) return;
  const last = advice[advice.length - 1], now = last.t;
  const from = now - Math.min(KEEP_SECONDS, Math.max(60, now - advice[0].t));
  const to = Math.max(now + 1, ...advice.map(a => a.ahead));
  const x = t => CL + (CW - CL - CR) * (t - from) / (to - from);
  const shown = advice.filter(a => a.t >= from), ahead = advice.filter(a => a.ahead >= from);
  const all = shown.flatMap(a => [a.rate, a.capacity]).concat(ahead.flatMap(a => [a.mean, a.hi])).filter(v => known(v) && v > 0);
  const lo = all.length ? Math.floor(Math.log10(Math.min(...all))) : 0;
  let hi = all.length ? Math.ceil(Math.log10(Math.max(...all))) : 1;
  if (hi <= lo) hi = lo + 1;
  const y = v => CH - CB - (CH - CT - CB) * (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo);
  svg.append(
    el("line", { x1: CL, y1: CH - CB, x2: CW - CR, y2: CH - CB, stroke: "#999" }),
    el("line", { x1: CL, y1: CT, x2: CL, y2: CH - CB, stroke: "#999" }),
    el("line", { class: "now", x1: x(now), y1: CT, x2: x(now), y2: CH - CB }),
    el("text", { x: CL, y: CH - 6 }, "-" + seconds(now - from)),
    el("text", { x: CW - CR, y: CH - 6, "text-anchor": "end" }, "+" + seconds(to - now)),
  );
  // "now" goes under its line unless the labels of the ends are in the way
  if (x(now) - CL > 70 && CW - CR - x(now) > 50) svg.appendChild(el("text", { x: x(now), y: CH - 6, "text-anchor": "middle" }, "now"));
  // decades, and within two decades 2 and 5 times each, so that close rates can be told apart
  const step = Math.ceil((hi - lo) / 6); // at most 7 labelled decades
  const marks = [];
  for (let d = lo; d <= hi; d += step) {
    marks.push(10 ** d);
    if (hi - lo <= 2 && d < hi) marks.push(2 * 10 ** d, 5 * 10 ** d);
  }
  for (const v of marks) {
    svg.append(
      el("line", { class: "grid", x1: CL, y1: y(v), x2: CW - CR, y2: y(v) }),
      el("text", { x: 4, y: y(v) + 4 }, rate(v) + "/s"),
    );
  }
  // path draws the points of key over list at time at, broken where a value is missing.
  const path = (cls, list, at, key) => {
    let d = "", pen = "M";
    for (const a of list) {
      if (!known(a[key])) { pen = "M"; continue; }
      d += pen + x(a[at]).toFixed(1) + "," + y(a[key]).toFixed(1) + " ";
      pen = "L";
    }
    svg.appendChild(el("path", { class: cls, d: d.trim() }));
  };
  path("cap", shown, "t", "capacity");
  if (known(last.capacity)) {
    svg.appendChild(el("path", { class: "cap ahead", d: `M${x(now).toFixed(1)},${y(last.capacity).toFixed(1)} H${x(to).toFixed(1)}` }));
  }
  path("hi", ahead, "ahead", "hi");
  path("fc", ahead, "ahead", "mean");
  path("in", shown, "t", "rate");
  svg.appendChild(el("circle", { class: "in", cx: x(now), cy: y(last.rate), r: 3 }));
}

// refreshScale fetches the latest advice and draws it. It reports whether to ask again: not
// when the server has no scaling advisor.
async function refreshScale() {
  const section = document.getElementById("scaling");
  let resp;
  try {
    resp = await fetch("api/scale");
  } catch (e) {
    return true; // the server is gone; the stream's status says so
  }
  if (resp.status === 404) {
    section.hidden = true;
    return false;
  }
  section.hidden = false;
  if (!resp.ok) return true; // 503: no advice yet
  let a;
  try {
    a = await resp.json();
  } catch (e) {
    return true; // cut off mid-answer
  }
  recordAdvice(a);
  drawAdvice(a);
  drawDecisions(a);
  drawSteps(a);
  drawScaleChart();
  return true;
}

async function pollScale() {
  if (await refreshScale()) setTimeout(pollScale, SCALE_POLL_MS);
}

function connect() {
  const status = document.getElementById("status");
  const stream = new EventSource("api/stream");
  stream.addEventListener("history", ev => {
    // The server's samples of the last minutes, sent first: the charts start full.
    const kept = JSON.parse(ev.data) || [];
    const first = samples.length ? samples[0].t : Infinity;
    samples.unshift(...kept.filter(h => h.t < first));
    drawRates();
    drawLatency();
  });
  stream.addEventListener("topology", ev => {
    const top = JSON.parse(ev.data);
    for (const n of top.nodes || []) liveParallelism.set(n.id, n.parallelism);
    if (lastAdvice) drawSteps(lastAdvice);
    document.getElementById("pipeline").textContent = top.pipeline;
    document.title = "millrace dashboard: " + top.pipeline;
    drawVerdict(top);
    drawDag(top);
    drawNodes(top);
    drawWorkers(top);
    record(top);
    drawRates();
    drawLatency();
    status.textContent = "live, updated " + new Date().toLocaleTimeString();
    status.className = "status live";
  });
  stream.addEventListener("ledger", ev => drawLedger(JSON.parse(ev.data)));
  stream.onerror = () => { status.textContent = "disconnected, retrying…"; status.className = "status"; };
}

connect();
refreshDeadLetters();
setInterval(refreshDeadLetters, 3000);
pollScale();
