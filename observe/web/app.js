// The millrace dashboard: draws the figures /api/stream sends every second.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const KEEP_SECONDS = 300; // how much history the rate chart keeps
const samples = []; // {t, input, output}, oldest first

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

// busyColour runs from green (idle) to red (saturated).
function busyColour(busy) {
  const hue = 120 * (1 - Math.min(Math.max(busy, 0), 1));
  return "hsl(" + hue.toFixed(0) + ", 65%, 72%)";
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

const BOX_W = 210, BOX_H = 92, COL_W = 290, ROW_H = 116, PAD = 10;

function drawDag(top) {
  const nodes = top.nodes || [], edges = top.edges || [];
  const depth = depths(nodes, edges);
  const columns = [];
  for (const n of nodes) (columns[depth[n.id]] ||= []).push(n);
  const pos = {};
  let rows = 0;
  columns.forEach((col, c) => {
    (col || []).forEach((n, r) => { pos[n.id] = { x: PAD + c * COL_W, y: PAD + 16 + r * ROW_H }; });
    rows = Math.max(rows, (col || []).length);
  });
  const width = PAD * 2 + Math.max(columns.length - 1, 0) * COL_W + BOX_W;
  const height = PAD * 2 + 16 + rows * ROW_H;
  const svg = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height });
  for (const e of edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = b.x, y2 = b.y + BOX_H / 2, mx = (x1 + x2) / 2;
    svg.appendChild(el("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    svg.appendChild(el("text", { x: mx, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" }, rate(e.rate) + "/s"));
  }
  const bottleneck = top.verdict && top.verdict.node;
  for (const n of nodes) {
    const p = pos[n.id];
    const g = el("g", { transform: `translate(${p.x},${p.y})`, "data-node": n.id });
    const hot = n.id === bottleneck;
    g.appendChild(el("rect", { class: "node" + (hot ? " bottleneck" : ""), width: BOX_W, height: BOX_H, rx: 6, fill: busyColour(n.busy) }));
    g.appendChild(el("text", { class: "name", x: 8, y: 18 }, n.id));
    g.appendChild(el("text", { x: 8, y: 36 }, (n.kind || "step") + " ×" + n.parallelism));
    g.appendChild(el("text", { x: 8, y: 54 }, "in " + rate(n.in_rate) + "/s  out " + rate(n.out_rate) + "/s"));
    g.appendChild(el("text", { x: 8, y: 72 }, "busy " + pct(n.busy) + "  backpressure " + pct(n.backpressure)));
    if (hot) g.appendChild(el("text", { class: "mark", x: 0, y: -5 }, "▼ BOTTLENECK"));
    svg.appendChild(g);
  }
  const dag = document.getElementById("dag");
  dag.replaceChildren(svg);
}

function drawVerdict(top) {
  const v = document.getElementById("verdict");
  v.textContent = (top.verdict && top.verdict.reason) || "no verdict";
  v.className = "verdict" + (top.verdict && top.verdict.node ? " bottleneck" : "");
}

// record adds a sample of input rate (rows the sources read) and throughput (rows the
// sinks took in, or the rows leaving the last steps when the plan has no sink).
function record(top) {
  const nodes = top.nodes || [], edges = top.edges || [];
  let input = 0, output = 0, sinks = 0;
  for (const n of nodes) {
    if (n.kind === "source") input += n.in_rate;
    if (n.kind === "sink") { output += n.in_rate; sinks++; }
  }
  if (sinks === 0) {
    const from = new Set(edges.map(e => e.from));
    for (const n of nodes) if (!from.has(n.id)) output += n.out_rate;
  }
  const now = Date.now() / 1000;
  samples.push({ t: now, input: input, output: output });
  while (samples.length && samples[0].t < now - KEEP_SECONDS) samples.shift();
}

function drawChart() {
  const svg = document.getElementById("chart");
  const W = 600, H = 180, L = 50, R = 10, T = 10, B = 22;
  const now = Date.now() / 1000;
  let top = 1;
  for (const s of samples) top = Math.max(top, s.input, s.output);
  // the time axis grows with the history, from one minute up to KEEP_SECONDS
  const span = Math.min(KEEP_SECONDS, Math.max(60, samples.length ? now - samples[0].t : 0));
  const x = t => L + (W - L - R) * (1 - (now - t) / span);
  const y = v => H - B - (H - T - B) * v / top;
  const line = key => samples.map(s => x(s.t).toFixed(1) + "," + y(s[key]).toFixed(1)).join(" ");
  svg.replaceChildren(
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }),
    el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }),
    el("text", { x: 4, y: T + 10 }, rate(top)),
    el("text", { x: 4, y: H - B }, "0"),
    el("text", { x: L, y: H - 6 }, "-" + Math.round(span) + " s"),
    el("text", { x: W - R - 24, y: H - 6 }, "now"),
    el("polyline", { class: "in", points: line("input") }),
    el("polyline", { class: "out", points: line("output") }),
  );
  const last = samples[samples.length - 1];
  if (last) {
    svg.appendChild(el("circle", { class: "in", cx: x(last.t), cy: y(last.input), r: 3 }));
    svg.appendChild(el("circle", { class: "out", cx: x(last.t), cy: y(last.output), r: 3 }));
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
  for (const s of l.Sources || []) rows.push(cells("td", [s.Name, s.Read, s.Accepted, s.Rejected, s.Late]));
  rows.push(cells("th", ["view", "in", "filtered", "kept", "out"]));
  for (const v of l.Views || []) rows.push(cells("td", [v.Name, v.In, v.Filtered, v.Kept, v.Out]));
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

function connect() {
  const status = document.getElementById("status");
  const stream = new EventSource("api/stream");
  stream.addEventListener("topology", ev => {
    const top = JSON.parse(ev.data);
    document.getElementById("pipeline").textContent = top.pipeline;
    document.title = "millrace dashboard: " + top.pipeline;
    drawVerdict(top);
    drawDag(top);
    record(top);
    drawChart();
    status.textContent = "live, updated " + new Date().toLocaleTimeString();
    status.className = "status live";
  });
  stream.addEventListener("ledger", ev => drawLedger(JSON.parse(ev.data)));
  stream.onerror = () => { status.textContent = "disconnected, retrying…"; status.className = "status"; };
}

connect();
refreshDeadLetters();
setInterval(refreshDeadLetters, 3000);
