// metlog web UI: one small module, no build step. Each page renders from
// the URL (so a URL can be shared) and returns a function that stops its
// timers, streams and charts when the user leaves it.

const main = document.getElementById("main");
const SEVERITY = ["emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"];
const RANGES = [["5m", "5 minutes"], ["15m", "15 minutes"], ["1h", "1 hour"], ["6h", "6 hours"],
  ["24h", "24 hours"], ["168h", "7 days"], ["", "all time"]];

// h builds an element: h("td", {class: "num"}, "3").
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && k !== "list") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

async function api(path, params) {
  const qs = params ? "?" + params.toString() : "";
  const resp = await fetch(path + qs, { headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({ error: resp.statusText }));
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const num = (n) => (n == null ? "–" : nf.format(n));
function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return nf.format(n) + " " + u[i];
}
function when(ts) { // RFC 3339 or ns since the epoch → local time
  const d = typeof ts === "number" ? new Date(ts / 1e6) : new Date(ts);
  const pad = (x, n = 2) => String(x).padStart(n, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
// messageLink is the query of the Messages page that shows one message: by
// its UUID, within a second of its time (the store finds a message by UUID
// fast within a time range).
function messageLink(m) {
  const ms = new Date(m.timestamp).getTime();
  return new URLSearchParams({ match: `Uuid == "${m.uuid}"`,
    from: new Date(ms - 1000).toISOString(), to: new Date(ms + 1000).toISOString() });
}
function ago(ns) {
  const s = Math.max(0, (Date.now() - ns / 1e6) / 1000);
  if (s < 60) return Math.round(s) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}
const sev = (n) => h("span", { class: "sev sev-" + n }, SEVERITY[n] ?? n);
function errorBox(err) { return h("div", { class: "error", role: "alert" }, String(err.message || err)); }
function rangeSelect(id, value) {
  return h("select", { id, "aria-label": "time range" },
    RANGES.map(([v, label]) => h("option", { value: v, selected: v === value }, "last " + label)));
}

// setQuery replaces the URL's query without a reload, keeping history.
function setQuery(params, push = true) {
  const url = location.pathname + (params.toString() ? "?" + params : "");
  if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
}

// ---- Overview -------------------------------------------------------------

function overview() {
  let prev = null;
  let stopped = false;
  const cards = h("div", { class: "cards" });
  const types = h("div");
  const tables = h("div");
  main.replaceChildren(h("h1", {}, "Overview"), cards, h("h2", {}, "Messages per second by type (last minute)"), types, tables);

  const rate = (now, before, dt) => (before == null || dt <= 0 ? null : Math.max(0, now - before) / dt);
  async function tick() {
    let st;
    try { st = await api("/api/status"); } catch (e) { tables.replaceChildren(errorBox(e)); return; }
    const t = performance.now() / 1000;
    const dt = prev ? t - prev.t : 0;
    let inRate = 0, dropped = 0, errors = 0, lag = 0;
    const inRows = Object.entries(st.inputs).sort().map(([name, s]) => {
      const r = rate(s.received, prev?.st.inputs[name]?.received, dt);
      inRate += r || 0; dropped += s.dropped;
      const rejected = Object.values(s.rejected || {}).reduce((a, b) => a + b, 0);
      errors += rejected;
      return h("tr", {}, h("td", {}, name), h("td", {}, s.type), h("td", { class: "mono" }, s.address || ""),
        h("td", { class: "num" }, num(s.received)), h("td", { class: "num" }, r == null ? "…" : num(r)),
        h("td", { class: "num" }, num(s.dropped)), h("td", { class: "num" }, num(rejected)));
    });
    const outRows = Object.entries(st.outputs).sort().map(([name, s]) => {
      const r = rate(s.delivered, prev?.st.outputs[name]?.delivered, dt);
      errors += s.permanent_errors; lag = Math.max(lag, s.lag_records);
      return h("tr", {}, h("td", {}, name), h("td", {}, s.type),
        h("td", { class: "num" }, num(s.delivered)), h("td", { class: "num" }, r == null ? "…" : num(r)),
        h("td", { class: "num" }, num(s.lag_records)), h("td", { class: "num" }, num(s.retries)),
        h("td", { class: "num" }, num(s.permanent_errors)), h("td", {}, health(s)));
    });
    prev = { t, st };
    const card = (label, value, id) => h("div", { class: "card", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    cards.replaceChildren(
      card("Messages in /s", dt ? num(inRate) : "…", "card-rate"),
      card("Max output lag", num(lag) + " msgs"),
      card("Dropped", num(dropped + st.journal.oversize)),
      card("Errors", num(errors)),
      card("Journal", bytes(st.journal.bytes)),
      card("Uptime", num(st.uptime_seconds / 60) + " min"));
    tables.replaceChildren(
      h("h2", {}, "Inputs"),
      h("table", { id: "inputs" }, h("thead", {}, h("tr", {}, ["Input", "Type", "Address"].map((x) => h("th", {}, x)),
        ["Received", "/s", "Dropped", "Rejected"].map((x) => h("th", { class: "num" }, x)))), h("tbody", {}, inRows)),
      h("h2", {}, "Outputs"),
      h("table", { id: "outputs" }, h("thead", {}, h("tr", {}, ["Output", "Type"].map((x) => h("th", {}, x)),
        ["Delivered", "/s", "Lag", "Retries", "Errors"].map((x) => h("th", { class: "num" }, x)), h("th", {}, "Health"))),
      h("tbody", {}, outRows)));
  }
  async function typeRates() {
    try {
      const page = await api("/api/messages", new URLSearchParams({ from: "1m", limit: "10000" }));
      const counts = new Map();
      for (const m of page.messages) counts.set(m.type, (counts.get(m.type) || 0) + 1);
      const rows = [...counts].sort((a, b) => b[1] - a[1]);
      const capped = page.next ? "≥ " : ""; // more than one page in the minute: a lower bound
      const max = rows.length ? rows[0][1] : 1;
      types.replaceChildren(rows.length === 0 ? h("p", { class: "muted" }, "No messages in the last minute.") :
        h("table", { id: "types" }, h("thead", {}, h("tr", {}, h("th", {}, "Type"), h("th", { class: "num" }, "msgs/s"), h("th", {}, ""))),
          h("tbody", {}, rows.map(([t, n]) => h("tr", {},
            h("td", {}, h("a", { href: "/ui/messages?" + new URLSearchParams({ match: `Type == "${t}"`, from: "15m" }) }, t || "(none)")),
            h("td", { class: "num" }, capped + num(n / 60)),
            h("td", { style: "width:50%" }, h("div", { class: "bar", style: `width:${(100 * n) / max}%` })))))));
    } catch (e) { types.replaceChildren(errorBox(e)); }
  }
  let n = 0;
  const loop = async () => {
    if (stopped) return;
    await tick();
    if (n++ % 5 === 0) await typeRates();
    if (!stopped) timer = setTimeout(loop, 2000);
  };
  let timer = setTimeout(loop, 0);
  return () => { stopped = true; clearTimeout(timer); };
}

function health(s) {
  if (s.last_error) return h("span", { class: "badge bad", title: s.last_error }, "error");
  if (s.lag_records > 1000) return h("span", { class: "badge warn" }, "lagging");
  return h("span", { class: "badge ok" }, "ok");
}

// ---- Messages -------------------------------------------------------------

// fromStream turns a live-tail event (metlog JSON) into the API's shape.
function fromStream(j) {
  const fields = Object.entries(j.fields || {}).map(([name, v]) => ({ name, type: "", values: [v] }));
  return { uuid: j.uuid || "", timestamp: j.timestamp, type: j.type || "", logger: j.logger || "",
    severity: j.severity ?? 7, payload: j.payload || "", env_version: j.env_version || "",
    pid: j.metlog_pid || 0, hostname: j.metlog_hostname || "", fields };
}

function messageRows(m, fresh) {
  const row = h("tr", { class: "row" + (fresh ? " fresh" : ""), tabindex: 0, "aria-expanded": "false" },
    h("td", { class: "time mono" }, when(m.timestamp)), h("td", {}, sev(m.severity)),
    h("td", {}, m.type), h("td", {}, m.logger), h("td", {}, m.hostname),
    h("td", { class: "payload mono", title: m.payload }, m.payload));
  let detail = null;
  const toggle = () => {
    if (detail) { detail.remove(); detail = null; row.classList.remove("open"); row.setAttribute("aria-expanded", "false"); return; }
    const kv = [["uuid", m.uuid], ["timestamp", m.timestamp], ["type", m.type], ["logger", m.logger],
      ["severity", `${m.severity} (${SEVERITY[m.severity] ?? "?"})`], ["hostname", m.hostname], ["pid", m.pid],
      ["env_version", m.env_version], ["payload", m.payload]];
    for (const f of m.fields) {
      const v = f.values.length === 1 ? f.values[0] : f.values;
      kv.push([`fields[${f.name}]` + (f.type ? ` ${f.type}` : "") + (f.representation ? ` (${f.representation})` : ""),
        typeof v === "string" ? v : JSON.stringify(v)]);
    }
    detail = h("tr", { class: "detail" }, h("td", { colspan: 6 },
      h("dl", { class: "kv" }, kv.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))));
    row.after(detail);
    row.classList.add("open");
    row.setAttribute("aria-expanded", "true");
  };
  row.addEventListener("click", toggle);
  row.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); nextRow(row, 1)?.focus(); }
    if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); nextRow(row, -1)?.focus(); }
  });
  return row;
}
function nextRow(row, dir) {
  let r = dir > 0 ? row.nextElementSibling : row.previousElementSibling;
  while (r && !r.classList.contains("row")) r = dir > 0 ? r.nextElementSibling : r.previousElementSibling;
  return r;
}

function messages() {
  const p = new URLSearchParams(location.search);
  const match = h("input", { type: "search", id: "match", value: p.get("match") || "", placeholder: 'matcher, e.g. Type == "timer" && Severity <= 4',
    "aria-label": "matcher expression", spellcheck: false, autocomplete: "off" });
  const words = h("input", { type: "search", id: "q", value: p.get("q") || "", placeholder: "words in payload", "aria-label": "words" });
  const preset = !p.has("to") && (!p.has("from") || RANGES.some(([v]) => v === p.get("from")));
  const range = rangeSelect("range", preset ? (p.has("from") ? p.get("from") : "1h") : "custom");
  range.append(h("option", { value: "custom", selected: !preset }, "custom range…"));
  const local = (v) => { // an API time parameter as a datetime-local value
    if (!v) return "";
    const d = /^\d+$/.test(v) ? new Date(Number(v) / 1e6) : new Date(v);
    if (isNaN(d)) return "";
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  };
  const fromBox = h("input", { type: "datetime-local", id: "from", step: 1, value: preset ? "" : local(p.get("from")), "aria-label": "from" });
  const toBox = h("input", { type: "datetime-local", id: "to", step: 1, value: preset ? "" : local(p.get("to")), "aria-label": "to" });
  const custom = h("span", { class: "custom", hidden: preset }, fromBox, "–", toBox);
  const iso = (box) => (box.value ? new Date(box.value).toISOString() : "");
  const live = h("input", { type: "checkbox", id: "live", checked: p.get("live") === "1" });
  const liveState = h("span", { class: "muted", id: "live-state" });
  const shown = new Set(); // UUIDs in the table, so the tail and a search never show one twice
  const status = h("div");
  const tbody = h("tbody");
  const more = h("div", { class: "more" });
  const table = h("table", { class: "msgs", id: "results" },
    h("thead", {}, h("tr", {}, ["Time", "Severity", "Type", "Logger", "Host", "Payload"].map((x) => h("th", {}, x)))), tbody);
  const form = h("form", { class: "search", role: "search" }, match, words, range, custom, h("button", { type: "submit" }, "Search"),
    h("label", { class: "toggle" }, live, "Live tail"), liveState);
  main.replaceChildren(h("h1", {}, "Messages"), form, status, table, more);

  let es = null, gen = 0;
  const params = () => {
    const q = new URLSearchParams();
    if (match.value.trim()) q.set("match", match.value.trim());
    if (words.value.trim()) q.set("q", words.value.trim());
    if (range.value === "custom") {
      if (iso(fromBox)) q.set("from", iso(fromBox));
      if (iso(toBox)) q.set("to", iso(toBox));
    } else if (range.value !== "1h") q.set("from", range.value);
    if (live.checked) q.set("live", "1");
    return q;
  };
  async function search(cursor) {
    const my = ++gen;
    const q = new URLSearchParams({ limit: "100" });
    if (match.value.trim()) q.set("match", match.value.trim());
    if (words.value.trim()) q.set("q", words.value.trim());
    if (range.value === "custom") {
      if (iso(fromBox)) q.set("from", iso(fromBox));
      if (iso(toBox)) q.set("to", iso(toBox));
    } else if (range.value) q.set("from", range.value);
    if (cursor) q.set("cursor", cursor);
    if (!cursor) { status.replaceChildren(h("p", { class: "muted" }, "Searching…")); }
    try {
      const page = await api("/api/messages", q);
      if (my !== gen) return;
      if (!cursor) { tbody.replaceChildren(); shown.clear(); }
      for (const m of page.messages) {
        if (shown.has(m.uuid)) continue;
        shown.add(m.uuid);
        tbody.append(messageRows(m));
      }
      status.replaceChildren(tbody.children.length === 0 ? h("p", { class: "muted", id: "empty" }, "No messages match.") : "");
      more.replaceChildren(page.next ? h("button", { class: "secondary", onclick: () => search(page.next) }, "Load older") : "");
    } catch (e) {
      if (my === gen) { status.replaceChildren(errorBox(e)); tbody.replaceChildren(); more.replaceChildren(); }
    }
  }
  function tail() {
    es?.close(); es = null;
    liveState.className = "muted";
    liveState.textContent = "";
    if (!live.checked) return;
    let arrived = 0;
    const q = new URLSearchParams();
    if (match.value.trim()) q.set("match", match.value.trim());
    es = new EventSource("/api/stream?" + q);
    es.addEventListener("open", () => { liveState.className = "live"; liveState.textContent = arrived ? `following · ${arrived} new` : "following"; });
    es.addEventListener("error", () => { liveState.className = "muted"; liveState.textContent = "reconnecting…"; });
    es.addEventListener("message", (e) => {
      const m = fromStream(JSON.parse(e.data));
      if (m.uuid && shown.has(m.uuid)) return;
      if (m.uuid) shown.add(m.uuid);
      liveState.textContent = `following · ${++arrived} new`;
      const w = words.value.trim().toLowerCase();
      if (w && !w.split(/\s+/).every((x) => m.payload.toLowerCase().includes(x))) return;
      tbody.prepend(messageRows(m, true));
      document.getElementById("empty")?.remove();
      while (tbody.querySelectorAll("tr.row").length > 1000) tbody.lastElementChild.remove();
    });
    es.addEventListener("dropped", (e) => {
      status.replaceChildren(h("div", { class: "notice" }, `The live tail skipped ${JSON.parse(e.data).dropped} messages it could not keep up with.`));
    });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setQuery(params());
    search(); tail();
  });
  range.addEventListener("change", () => {
    custom.hidden = range.value !== "custom";
    if (custom.hidden) form.requestSubmit();
    else fromBox.focus();
  });
  live.addEventListener("change", () => { setQuery(params(), false); tail(); });
  search(); tail();
  if (!p.has("match")) match.focus();
  return () => { es?.close(); gen++; };
}

// ---- Metrics --------------------------------------------------------------

const PALETTE = ["#2f6fde", "#e0663a", "#2f855a", "#9b51e0", "#c23b3b", "#b7791f"];

function lineChart(el, series, height = 220) {
  const xs = series.points.map((pt) => pt.t / 1e9);
  let lines;
  if (series.kind === "timer") lines = ["p50", "p90", "p99", "max"].map((k) => [k + " ms", series.points.map((pt) => pt[k] ?? null)]);
  else if (series.kind === "gauge") lines = [["value", series.points.map((pt) => pt.value ?? null)]];
  else lines = [["per second", series.points.map((pt) => pt.rate ?? null)]];
  const points = lines.reduce((n, [, ys]) => n + ys.filter((y) => y != null).length, 0);
  el.dataset.points = points;
  const opts = {
    width: Math.max(300, el.clientWidth - 2), height,
    series: [{}, ...lines.map(([label], i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false,
      points: { show: true, size: 4 } }))],
    axes: [{}, { size: 60 }],
    scales: { x: { time: true } },
  };
  return new uPlot(opts, [xs, ...lines.map(([, ys]) => ys)], el);
}

function metrics() {
  const p = new URLSearchParams(location.search);
  const selected = new Set(p.getAll("m")); // kind:name
  const range = rangeSelect("range", p.has("from") ? p.get("from") : "1h");
  const filter = h("input", { type: "search", id: "filter", placeholder: "filter names", "aria-label": "filter metric names" });
  const list = h("div");
  const charts = h("div", { id: "charts" });
  main.replaceChildren(h("h1", {}, "Metrics"),
    h("div", { class: "toolbar" }, range),
    h("div", { class: "metrics" }, h("div", { class: "panel names" }, filter, list), charts));
  let plots = [], gen = 0;
  const from = () => range.value || "8760h";

  function sync() {
    const q = new URLSearchParams();
    for (const s of selected) q.append("m", s);
    if (range.value !== "1h") q.set("from", range.value);
    setQuery(q);
  }
  async function loadNames() {
    try {
      const { names } = await api("/api/series/names", new URLSearchParams({ from: from() }));
      const groups = new Map();
      for (const n of names) { if (!groups.has(n.kind)) groups.set(n.kind, []); groups.get(n.kind).push(n); }
      const rows = [];
      for (const [kind, ns] of groups) {
        rows.push(h("div", { class: "kind" }, kind + "s"));
        for (const n of ns) {
          const key = `${n.kind}:${n.name}`;
          rows.push(h("label", { "data-name": n.name.toLowerCase() },
            h("input", { type: "checkbox", checked: selected.has(key), value: key,
              onchange: (e) => { e.target.checked ? selected.add(key) : selected.delete(key); sync(); draw(); } }),
            n.name, h("span", { class: "muted" }, ` ${num(n.count)}`)));
        }
      }
      list.replaceChildren(...(rows.length ? rows : [h("p", { class: "muted" }, "No metrics in this range.")]));
      applyFilter();
    } catch (e) { list.replaceChildren(errorBox(e)); }
  }
  function applyFilter() {
    const f = filter.value.trim().toLowerCase();
    for (const l of list.querySelectorAll("label")) l.hidden = f !== "" && !l.dataset.name.includes(f);
  }
  async function draw() {
    const my = ++gen;
    plots.forEach((u) => u.destroy()); plots = [];
    if (selected.size === 0) { charts.replaceChildren(h("p", { class: "muted panel" }, "Pick metrics on the left to chart them.")); return; }
    const boxes = [...selected].map((key) => {
      const [kind, ...rest] = key.split(":");
      const name = rest.join(":");
      const body = h("div", { class: "plot" }, h("span", { class: "muted" }, "Loading…"));
      return { kind, name, body, el: h("div", { class: "chart panel", "data-metric": name }, h("h3", {}, name, h("span", { class: "muted" }, " " + kind)), body) };
    });
    charts.replaceChildren(...boxes.map((b) => b.el));
    await Promise.all(boxes.map(async (b) => {
      try {
        const { series } = await api("/api/series", new URLSearchParams({ kind: b.kind, name: b.name, from: from() }));
        if (my !== gen) return;
        b.body.replaceChildren();
        if (!series.length) { b.body.replaceChildren(h("span", { class: "muted" }, "No data in this range.")); return; }
        plots.push(lineChart(b.body, series[0]));
      } catch (e) { if (my === gen) b.body.replaceChildren(errorBox(e)); }
    }));
  }
  filter.addEventListener("input", applyFilter);
  range.addEventListener("change", () => { sync(); loadNames(); draw(); });
  const resize = () => plots.forEach((u) => u.setSize({ width: Math.max(300, u.root.parentElement.clientWidth - 2), height: u.height }));
  window.addEventListener("resize", resize);
  loadNames(); draw();
  return () => { gen++; plots.forEach((u) => u.destroy()); window.removeEventListener("resize", resize); };
}

// ---- Exceptions -----------------------------------------------------------

function sparkline(el, g) {
  const xs = g.sparkline.map((_, i) => (g.spark_start + i * g.spark_step) / 1e9);
  return new uPlot({ width: 140, height: 32, legend: { show: false }, cursor: { show: false },
    axes: [{ show: false }, { show: false }],
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    series: [{}, { stroke: "#c23b3b", fill: "rgba(194,59,59,.55)", width: 0, points: { show: false },
      paths: uPlot.paths.bars({ size: [0.8, 6] }) }] },
  [xs, g.sparkline], el);
}

function stackTrace(m) {
  const get = (n) => m.fields.find((f) => f.name === n)?.values || [];
  const fns = get("stack.function"), files = get("stack.file"), lines = get("stack.line"), inApp = get("stack.in_app");
  if (fns.length === 0) return h("pre", { class: "stack" }, m.payload);
  const errs = get("error.type").map((t, i) => `${t}: ${get("error.message")[i] ?? ""}`);
  return h("pre", { class: "stack" }, errs.join("\n") + "\n\n",
    fns.map((fn, i) => h("span", { class: inApp[i] ? "app" : "lib" }, `${fn}\n\t${files[i] ?? "?"}:${lines[i] ?? "?"}\n`)));
}

function exceptions() {
  const p = new URLSearchParams(location.search);
  const range = rangeSelect("range", p.has("from") ? p.get("from") : "24h");
  const out = h("div");
  main.replaceChildren(h("h1", {}, "Exceptions"), h("div", { class: "toolbar" }, range), out);
  let sparks = [], gen = 0;
  async function load() {
    const my = ++gen;
    sparks.forEach((u) => u.destroy()); sparks = [];
    try {
      const q = new URLSearchParams({ buckets: "30" });
      if (range.value) q.set("from", range.value);
      const { groups } = await api("/api/exceptions", q);
      if (my !== gen) return;
      if (!groups.length) { out.replaceChildren(h("p", { class: "muted panel" }, "No exceptions in this range.")); return; }
      const tbody = h("tbody");
      for (const g of groups) {
        const spark = h("div", { class: "spark" });
        const row = h("tr", { class: "row", tabindex: 0 },
          h("td", {}, h("strong", {}, g.title), h("div", { class: "muted mono" }, g.culprit)),
          h("td", {}, g.logger), h("td", { class: "num" }, num(g.count)), h("td", {}, spark),
          h("td", { title: when(g.last_seen) }, ago(g.last_seen)));
        let detail = null;
        const toggle = () => {
          if (detail) { detail.remove(); detail = null; row.classList.remove("open"); return; }
          detail = h("tr", { class: "detail" }, h("td", { colspan: 5 },
            g.sample ? [h("p", { class: "muted" }, `Latest report ${when(g.sample.timestamp)} on ${g.sample.hostname} (pid ${g.sample.pid}) — `,
              h("a", { href: "/ui/messages?" + messageLink(g.sample) }, "open message")),
            stackTrace(g.sample)] : h("p", { class: "muted" }, "No sample kept.")));
          row.after(detail); row.classList.add("open");
        };
        row.addEventListener("click", toggle);
        row.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(); });
        tbody.append(row);
        sparks.push(sparkline(spark, g));
      }
      out.replaceChildren(h("table", { class: "msgs", id: "groups" }, h("thead", {}, h("tr", {},
        h("th", {}, "Exception"), h("th", {}, "Logger"), h("th", { class: "num" }, "Count"), h("th", {}, "Trend"), h("th", {}, "Last seen"))), tbody));
    } catch (e) { if (my === gen) out.replaceChildren(errorBox(e)); }
  }
  range.addEventListener("change", () => {
    const q = new URLSearchParams();
    if (range.value !== "24h") q.set("from", range.value);
    setQuery(q); load();
  });
  load();
  return () => { gen++; sparks.forEach((u) => u.destroy()); };
}

// ---- Router ---------------------------------------------------------------

function routerPage() {
  const out = h("div"), conf = h("div");
  main.replaceChildren(h("h1", {}, "Router"), out, conf);
  let timer, stopped = false;
  api("/api/config").then((c) => conf.replaceChildren(
    h("h2", {}, "Configuration in effect"),
    h("p", { class: "muted" }, `${c.path ? "From " + c.path : "The embedded default"}, with every default filled in and secrets redacted.`),
    h("pre", { id: "router-config", class: "mono config" }, c.toml)),
  (e) => conf.replaceChildren(errorBox(e)));
  const th = (...xs) => h("thead", {}, h("tr", {}, xs.map((x) => (x.startsWith("#") ? h("th", { class: "num" }, x.slice(1)) : h("th", {}, x)))));
  const td = (x) => h("td", {}, x), tn = (x) => h("td", { class: "num" }, num(x));
  // The embedded store behind each store output: what it keeps and how far
  // its word index is behind.
  const stores = (outputs) => {
    const rows = Object.entries(outputs).filter(([, s]) => s.store).sort();
    return rows.length ? [h("h2", {}, "Store"),
      h("table", { id: "router-store" }, th("Output", "#Stored", "#Duplicates", "#Expired", "#Partitions", "#Size", "#Word index lag"),
        h("tbody", {}, rows.map(([n, { store: x }]) => h("tr", {}, td(n), tn(x.stored), tn(x.duplicates), tn(x.expired),
          tn(x.partitions), h("td", { class: "num" }, bytes(x.bytes)), tn(x.index_lag)))))] : "";
  };
  async function load() {
    try {
      const st = await api("/api/status");
      const j = st.journal;
      // Sections that may be absent are arrays or "": flatten them, as
      // replaceChildren would write an array out as text.
      out.replaceChildren(...[
        h("p", { class: "muted" }, `Version ${st.version || "dev"}, up ${num(st.uptime_seconds / 60)} minutes.`),
        h("h2", {}, "Journal"),
        h("table", {}, th("#Size", "#Segments", "#Appended", "#Full", "#Torn", "#Corrupt", "#Oversize"),
          h("tbody", {}, h("tr", {}, h("td", { class: "num" }, bytes(j.bytes)), tn(j.segments), tn(j.appended), tn(j.full), tn(j.torn), tn(j.corrupt), tn(j.oversize)))),
        h("h2", {}, "Inputs"),
        h("table", {}, th("Name", "Type", "Address", "#Received", "#Bytes", "#Dropped", "Rejected"),
          h("tbody", {}, Object.entries(st.inputs).sort().map(([n, s]) => h("tr", {}, td(n), td(s.type), h("td", { class: "mono" }, s.address || ""),
            tn(s.received), h("td", { class: "num" }, bytes(s.bytes)), tn(s.dropped),
            td(Object.entries(s.rejected || {}).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(", ") || "–"))))),
        Object.keys(st.aggregates).length ? [h("h2", {}, "Aggregates"),
          h("table", {}, th("Name", "Type", "Match", "#Read", "#Matched", "#Emitted", "#Flushes", "#Lag"),
            h("tbody", {}, Object.entries(st.aggregates).sort().map(([n, s]) => h("tr", {}, td(n), td(s.type), h("td", { class: "mono" }, s.match || "TRUE"),
              tn(s.read), tn(s.matched), tn(s.emitted), tn(s.flushes), tn(s.lag_records)))))] : "",
        h("h2", {}, "Outputs"),
        h("table", { id: "router-outputs" }, th("Name", "Type", "Match", "#Matched", "#Delivered", "#Retries", "#Errors", "#Lag", "Health"),
          h("tbody", {}, Object.entries(st.outputs).sort().map(([n, s]) => [h("tr", {}, td(n), td(s.type), h("td", { class: "mono" }, s.match || "TRUE"),
            tn(s.matched), tn(s.delivered), tn(s.retries), tn(s.permanent_errors), h("td", { class: "num" }, `${num(s.lag_records)} (${bytes(s.lag_bytes)})`), td(health(s))),
          s.last_error ? h("tr", {}, h("td", { colspan: 9, class: "mono", style: "color:var(--bad)" }, s.last_error)) : ""]))),
        stores(st.outputs)].flat(Infinity));
    } catch (e) { out.replaceChildren(errorBox(e)); }
    if (!stopped) timer = setTimeout(load, 5000);
  }
  load();
  return () => { stopped = true; clearTimeout(timer); };
}

// ---- navigation -----------------------------------------------------------

const PAGES = { overview, messages, metrics, exceptions, router: routerPage };
let leave = null;

function render() {
  leave?.();
  const name = location.pathname.replace(/^\/ui\/?/, "").split("/")[0] || "overview";
  const page = PAGES[name];
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.page === name);
  document.title = `metlog · ${name}`;
  if (!page) { main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "There is no page ", h("code", {}, location.pathname), ".")); leave = null; return; }
  leave = page();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href^='/ui/']");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  render();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && e.target.matches("input, select")) { e.target.blur(); return; }
  if (e.key !== "/" || e.target.matches("input, select, textarea")) return;
  e.preventDefault();
  const box = document.getElementById("match") || document.getElementById("filter");
  if (box) box.focus();
  else { history.pushState(null, "", "/ui/messages"); render(); }
});
window.addEventListener("popstate", render);
render();
