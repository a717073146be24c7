// The fraud panel: draws what /api/fraud says, which a server serves only for a pipeline
// with a rules step (404 otherwise, and the panel stays hidden). It uses app.js's helpers.
"use strict";

const FRAUD_POLL_MS = 2000;
// Colours of the stacked bars, given to rules and scenarios in the order they are first
// seen, so that a key keeps its colour.
const PALETTE = ["#c62828", "#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#00897b", "#ad1457", "#5d4037", "#546e7a", "#9e9d24"];
const colours = new Map();

function colour(key) {
  if (key === "none") return "#9e9e9e";
  if (!colours.has(key)) colours.set(key, PALETTE[colours.size % PALETTE.length]);
  return colours.get(key);
}

// drawStacked draws one bar per minute, stacked by the keys of each minute's counts (field
// of the minute), and a legend with every key's total since the start.
function drawStacked(id, minutes, field, totals) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const keys = Object.keys(totals).sort((a, b) => totals[b] - totals[a] || a.localeCompare(b));
  let top = 1;
  for (const m of minutes) top = Math.max(top, Object.values(m[field]).reduce((a, b) => a + b, 0));
  const y = v => CH - CB - (CH - CT - CB) * v / top;
  const slot = (CW - CL - CR) / Math.max(minutes.length, 1);
  svg.append(
    el("line", { x1: CL, y1: CH - CB, x2: CW - CR, y2: CH - CB, stroke: "#999" }),
    el("line", { x1: CL, y1: CT, x2: CL, y2: CH - CB, stroke: "#999" }),
    el("text", { x: 4, y: CT + 10 }, String(top)),
    el("text", { x: 4, y: CH - CB }, "0"),
  );
  if (minutes.length) {
    const time = m => new Date(serverTime(m.start) * 1000).toISOString().slice(11, 16);
    svg.append(
      el("text", { x: CL, y: CH - 6 }, time(minutes[0])),
      el("text", { x: CW - CR, y: CH - 6, "text-anchor": "end" }, time(minutes[minutes.length - 1]) + " UTC"),
    );
  }
  minutes.forEach((m, i) => {
    let base = 0;
    for (const k of keys) {
      const v = m[field][k] || 0;
      if (!v) continue;
      const bar = el("rect", { x: (CL + i * slot + 1).toFixed(1), y: y(base + v).toFixed(1), width: Math.max(slot - 2, 1).toFixed(1),
        height: (y(base) - y(base + v)).toFixed(1), fill: colour(k) });
      bar.appendChild(el("title", {}, m.start + " " + k + ": " + v));
      svg.appendChild(bar);
      base += v;
    }
  });
  const legend = document.getElementById(id + "-legend");
  legend.replaceChildren(...keys.map(k => {
    const span = document.createElement("span");
    span.className = "key";
    span.dataset.key = k;
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour(k);
    span.append(sw, k + " " + totals[k]);
    return span;
  }));
}

function fixed(v) { return known(v) ? v.toFixed(3) : "—"; }

// drawEval lists every rule and the model against the label, over all rows and per scenario.
function drawEval(f) {
  const part = document.getElementById("fraud-eval-part");
  part.hidden = !f.label;
  if (!f.label) return;
  document.getElementById("fraud-eval-hint").textContent = "(against " + f.label + "; the model alerts at " + f.threshold +
    ", a rule where it matches; a scenario's figures are over its fraud rows and every normal row)";
  const rows = [cells("th", ["classifier", "over", "positives", "TP", "FP", "FN", "TN", "precision", "recall", "F1", "PR-AUC", "ROC-AUC"])];
  const line = (name, over, m) => cells("td", [name, over, m.positives, m.tp, m.fp, m.fn, m.tn, fixed(m.precision), fixed(m.recall),
    fixed(m.f1), fixed(m.pr_auc), fixed(m.roc_auc)]);
  for (const c of f.classifiers) {
    const tr = line(c.name, "all", c.overall);
    tr.dataset.classifier = c.name;
    rows.push(tr);
    for (const s of Object.keys(c.scenarios).sort()) rows.push(line("", s, c.scenarios[s]));
  }
  document.getElementById("fraud-eval").replaceChildren(...rows);
}

function drawLatest(f) {
  const rows = [cells("th", ["time", "rule", "severity", "reason", "card", "amount", "scenario", "rules version"])];
  for (const a of f.latest) {
    const tr = cells("td", [a.time.startsWith("0001-") ? "" : a.time.replace("T", " ").replace(/(\.\d+)?Z$/, ""), a.rule, a.severity,
      a.reason, a.card || "", a.amount || "", a.scenario || "", a.rules_version]);
    tr.dataset.rule = a.rule;
    rows.push(tr);
  }
  if (f.latest.length === 0) rows.push(cells("td", ["none yet", "", "", "", "", "", "", ""]));
  document.getElementById("fraud-latest").replaceChildren(...rows);
}

// refreshFraud fetches /api/fraud and draws it. It reports whether to ask again: not when
// the pipeline has no rules step.
async function refreshFraud() {
  const section = document.getElementById("fraud");
  let resp;
  try {
    resp = await fetch("api/fraud");
  } catch (e) {
    return true; // the server is gone; the stream's status says so
  }
  if (resp.status === 404) {
    section.hidden = true;
    return false;
  }
  if (!resp.ok) return true;
  let f;
  try {
    f = await resp.json();
  } catch (e) {
    return true; // cut off mid-answer
  }
  section.hidden = false;
  document.getElementById("fraud-total").textContent = "(" + f.alerts + " alerts since the start)";
  drawStacked("fraud-by-rule", f.minutes, "by_rule", f.by_rule);
  drawStacked("fraud-by-scenario", f.minutes, "by_scenario", f.by_scenario);
  drawEval(f);
  drawLatest(f);
  return true;
}

async function pollFraud() {
  if (await refreshFraud()) setTimeout(pollFraud, FRAUD_POLL_MS);
}

pollFraud();
