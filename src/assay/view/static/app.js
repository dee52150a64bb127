// The sample explorer: filters over every row's index, a page of rows at a time, a sample's full record,
// and model against model on the same samples. State lives in the URL fragment, so every view has a link.
"use strict";

const CFG = JSON.parse(document.getElementById("config").textContent);
const SRC = CFG.mode === "server" ? serverSource() : staticSource(CFG.base || "data/");
const PAGE = 50;
let M = null; // the manifest
const idMaps = new Map();

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const $ = (id) => document.getElementById(id);
const fmt = (v) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? String(v) : Number(v).toFixed(4));
const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));

function state() {
  return Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
}
function link(st) {
  const clean = Object.fromEntries(Object.entries(st).filter(([, v]) => v !== "" && v !== undefined && v !== null));
  return "#" + new URLSearchParams(clean).toString();
}
function go(changes, keepPage) {
  const st = { ...state(), ...changes };
  if (!keepPage && !("page" in changes)) delete st.page;
  location.hash = link(st);
}

const unitsOf = (f) => M.units.filter(f);
const unitBy = (key) => M.units.find((u) => u.key === key);
const unitAt = (side, task) => M.units.find((u) => u.side === side && u.task === task);
const uniq = (xs) => [...new Set(xs)];

async function idMap(key) {
  if (!idMaps.has(key)) {
    const idx = await SRC.index(key);
    idMaps.set(key, new Map(idx.ids.map((id, i) => [id, i])));
  }
  return idMaps.get(key);
}

function defaultMetric(idx) {
  const names = Object.keys(idx.metrics);
  return names.includes("acc") ? "acc" : names.includes("passed_first") ? "passed_first" : names[0];
}

// ------------------------------------------------------------------------------------------- filtering

async function filtered(st) {
  let units = unitsOf((u) => (!st.run || u.run === st.run) && (!st.model || u.model === st.model) &&
    (!st.task || u.task === st.task));
  if (st.cell) units = [unitAt(st.ca, st.ct)].filter(Boolean);
  const lo = st.min === undefined || st.min === "" ? null : Number(st.min);
  const hi = st.max === undefined || st.max === "" ? null : Number(st.max);
  const hits = [], perUnit = [];
  let total = 0, right = 0, wrong = 0;
  // every unit's index and search at once: the server answers them in parallel
  const indexes = await Promise.all(units.map((u) => SRC.index(u.key)));
  const searches = st.q ? await Promise.all(units.map((u) => SRC.search(u.key, st.q))) : null;
  for (const [n, u] of units.entries()) {
    const idx = indexes[n];
    const metric = st.metric || defaultMetric(idx);
    const vals = idx.metrics[metric] || [];
    let other = null, otherIds = null, otherVals = null;
    const pairSide = st.cell ? st.cb : st.flip;
    if (pairSide) {
      other = unitAt(pairSide, u.task);
      if (!other || other.key === u.key) continue;
      otherIds = await idMap(other.key);
      otherVals = (await SRC.index(other.key)).metrics[metric] || [];
    }
    const found = searches ? new Set(searches[n]) : null;
    total += idx.n;
    let count = 0, uRight = 0;
    for (let i = 0; i < idx.n; i++) {
      const v = vals[i] ?? null;
      if (st.correct === "right" && !(v !== null && v >= 1)) continue;
      if (st.correct === "wrong" && !(v !== null && v < 1)) continue;
      if (lo !== null && !(v !== null && v >= lo)) continue;
      if (hi !== null && !(v !== null && v <= hi)) continue;
      if (other) {
        const j = otherIds.get(idx.ids[i]);
        const w = j === undefined ? null : otherVals[j] ?? null;
        if (v === null || w === null) continue;
        if (st.cell) {
          if (st.cell !== `${v >= 1 ? "R" : "W"}${w >= 1 ? "R" : "W"}`) continue;
        } else if ((v >= 1) === (w >= 1)) continue;
      }
      if (found && !found.has(i)) continue;
      hits.push([u.key, i, v]);
      count++;
      if (v !== null && v >= 1) uRight++;
    }
    right += uRight;
    wrong += count - uRight;
    perUnit.push({ u, metric, n: idx.n, count, right: uRight });
  }
  return { hits, perUnit, total, right, wrong };
}

// --------------------------------------------------------------------------------------------- the list

function options(select, values, current, all) {
  select.replaceChildren(h("option", { value: "" }, all), ...values.map((v) => h("option", { value: v }, v)));
  select.value = current || "";
}

async function renderFilters(st) {
  options($("f-run"), uniq(M.units.map((u) => u.run)), st.run, "all runs");
  options($("f-model"), uniq(M.units.map((u) => u.model)), st.model, "all models");
  options($("f-task"), uniq(M.units.map((u) => u.task)), st.task, "all tasks");
  const metrics = (await Promise.all(M.units.map((u) => SRC.index(u.key)))).flatMap((i) => Object.keys(i.metrics));
  options($("f-metric"), uniq(metrics), st.metric, "metric: default");
  options($("f-flip"), uniq(M.units.map((u) => u.side)), st.flip, "flipped against: —");
  $("f-correct").value = st.correct || "";
  $("f-min").value = st.min || "";
  $("f-max").value = st.max || "";
  if (document.activeElement !== $("f-q")) $("f-q").value = st.q || "";
}

async function renderList(st) {
  const started = performance.now();
  const res = await filtered(st);
  const cell = st.cell ? ` in cell ${st.cell} of ${st.ca} vs ${st.cb} (${st.ct})` : "";
  $("counts").replaceChildren(
    h("b", { id: "count" }, res.hits.length), ` of ${res.total} samples${cell} · `,
    h("span", { class: "ok", id: "count-right" }, res.right), " right · ",
    h("span", { class: "bad", id: "count-wrong" }, res.wrong), " wrong",
  );
  $("units").replaceChildren(h("tr", {}, h("th", {}, "run"), h("th", {}, "model"), h("th", {}, "task"),
    h("th", {}, "metric"), h("th", {}, "shown"), h("th", {}, "right")),
    ...res.perUnit.map((p) => h("tr", {}, h("td", {}, p.u.run), h("td", {}, p.u.model), h("td", {}, p.u.task),
      h("td", {}, p.metric), h("td", { class: "num" }, `${p.count} / ${p.n}`), h("td", { class: "num" }, p.right))));
  const page = Math.max(0, Number(st.page || 0));
  const slice = res.hits.slice(page * PAGE, page * PAGE + PAGE);
  const byUnit = new Map();
  slice.forEach(([k, i]) => byUnit.set(k, [...(byUnit.get(k) || []), i]));
  const rows = new Map();
  for (const [k, nums] of byUnit) (await SRC.rows(k, nums)).forEach((r, j) => rows.set(`${k}:${nums[j]}`, r));
  $("rows").replaceChildren(...slice.map(([k, i, v]) => {
    const r = rows.get(`${k}:${i}`), u = unitBy(k);
    const href = link({ ...st, s: k, id: r.sample_id });
    return h("tr", { class: "row" }, h("td", {}, u.model), h("td", {}, u.task),
      h("td", {}, h("a", { href, class: "open" }, r.sample_id)),
      h("td", { class: v === null ? "" : v >= 1 ? "ok" : "bad" }, fmt(v)),
      h("td", { class: "snip" }, (r.question || r.prompt || "").slice(0, 160)),
      h("td", { class: "snip" }, show(r.prediction).slice(0, 80)));
  }));
  const pages = Math.max(1, Math.ceil(res.hits.length / PAGE));
  $("pager").replaceChildren(
    h("button", { disabled: page <= 0, onclick: () => go({ page: page - 1 }) }, "‹ prev"),
    ` page ${page + 1} of ${pages} `,
    h("button", { disabled: page + 1 >= pages, onclick: () => go({ page: page + 1 }) }, "next ›"));
  $("timing").textContent = `${Math.round(performance.now() - started)} ms`;
}

function wireFilters() {
  const bind = (id, key) => $(id).addEventListener("change", (e) => go({ [key]: e.target.value, cell: "" }));
  [["f-run", "run"], ["f-model", "model"], ["f-task", "task"], ["f-metric", "metric"], ["f-correct", "correct"],
    ["f-min", "min"], ["f-max", "max"], ["f-flip", "flip"]].forEach(([id, key]) => bind(id, key));
  $("f-search").addEventListener("submit", (e) => { e.preventDefault(); go({ q: $("f-q").value.trim() }); });
  $("f-clear").addEventListener("click", () => { location.hash = "#"; });
}

// ------------------------------------------------------------------------------------------- one sample

function marked(text, needles) {
  const parts = [text];
  for (const n of needles) {
    for (let p = 0; p < parts.length; p++) {
      if (typeof parts[p] !== "string") continue;
      const at = parts[p].lastIndexOf(n);
      if (at < 0) continue;
      const s = parts[p];
      parts.splice(p, 1, s.slice(0, at), h("mark", {}, n), s.slice(at + n.length));
      break;
    }
  }
  return parts;
}

function section(title, ...body) {
  return h("section", {}, h("h3", {}, title), ...body);
}

function choicesTable(r) {
  const marks = (k) => Object.entries(r.chosen || {}).filter(([, c]) => c === k).map(([m]) => m);
  return h("table", { id: "choices" }, h("tr", {}, h("th", {}, "#"), h("th", {}, "choice"),
    h("th", {}, "loglikelihood"), h("th", {}, "chosen by")),
  ...r.choices.map((c, k) => h("tr", { class: k === r.target ? "target" : "" }, h("td", {}, k),
    h("td", {}, c, k === r.target ? h("span", { class: "tag" }, "target") : null),
    h("td", { class: "num" }, fmt(r.loglikelihoods[k])),
    h("td", {}, ...marks(k).map((m) => h("span", { class: `tag ${k === r.target ? "ok" : "bad"}` }, m))))));
}

function codeSection(code) {
  return section("code execution",
    h("p", { id: "verdict" }, h("b", {}, code.status), code.reason ? ` — ${code.reason}` : ""),
    code.failing_test ? [h("h4", {}, `failing test #${code.failing_index}`), h("pre", { id: "failing-test" }, code.failing_test)] : null,
    h("h4", {}, "stdout"), h("pre", { id: "stdout" }, code.stdout || "(empty)"),
    h("h4", {}, "stderr"), h("pre", { id: "stderr" }, code.stderr || "(empty)"));
}

async function renderSample(st) {
  const box = $("sample");
  if (!st.s || !st.id) { box.hidden = true; return; }
  const unit = unitBy(st.s);
  const i = unit ? (await idMap(unit.key)).get(st.id) : undefined;
  if (i === undefined) { box.hidden = false; box.replaceChildren(h("p", {}, `no sample ${st.id}`)); return; }
  const [r] = await SRC.rows(unit.key, [i]);
  const extras = { ...(r.extras || {}) };
  const code = extras.code; delete extras.code; delete extras.extracted;
  const judge = Array.isArray(extras.judge) ? extras.judge : null; if (judge) delete extras.judge;
  box.hidden = false;
  box.replaceChildren(...[
    h("p", {}, h("a", { href: link({ ...st, s: "", id: "" }), id: "close" }, "× close"), " ",
      h("a", { href: link({ s: unit.key, id: r.sample_id }), id: "permalink" }, "link to this sample")),
    h("h2", { id: "sample-id" }, r.sample_id),
    h("p", { class: "muted" }, `${unit.model} · ${unit.task} · run ${unit.run}`),
    section("prompt", r.fold ? h("details", { id: "fold" }, h("summary", {},
      `earlier part of the prompt (few-shot examples, instructions): ${r.fold.length} characters`),
    h("pre", {}, r.fold)) : null, h("pre", { id: "question" }, r.question)),
    r.choices && r.choices.length ? section("choices", choicesTable(r)) : null,
    r.outputs && r.outputs.length ? section("output", ...r.outputs.map((o) => h("pre", { class: "output" }, ...marked(o, r.highlight || [])))) : null,
    section("answer", h("table", {}, h("tr", {}, h("th", {}, "prediction"), h("td", { id: "prediction" }, show(r.prediction))),
      h("tr", {}, h("th", {}, "target"), h("td", { id: "target" }, show(r.target))))),
    section("scores", h("table", { id: "scores" }, ...Object.entries(r.scores).map(([m, v]) => h("tr", {},
      h("th", {}, m), h("td", { class: v === null ? "" : v >= 1 ? "ok" : "bad" }, fmt(v)),
      h("td", {}, (r.score_details || {})[m] || ""))))),
    code ? codeSection(code) : null,
    judge ? section("judge", ...judge.map((j, k) => h("div", { class: "judgment" },
      h("h4", {}, `judgment ${k + 1}${j.prompt ? ` (${j.prompt})` : ""}: ${show(j.value ?? j.winner ?? "—")}`),
      h("pre", {}, j.reasoning || j.error || JSON.stringify(j, null, 2))))) : null,
    Object.keys(extras).length ? section("other details", h("pre", { id: "extras" }, JSON.stringify(extras, null, 2))) : null,
  ].filter(Boolean));
  box.scrollIntoView();
}

// -------------------------------------------------------------------------------------------- compare

async function renderCompare(st) {
  const sides = uniq(M.units.map((u) => u.side));
  const a = st.ca || sides[0], b = st.cb || sides[1] || sides[0];
  options($("c-a"), sides, a, "side A"); options($("c-b"), sides, b, "side B");
  const tasks = uniq(M.units.filter((u) => u.side === a).map((u) => u.task)).filter((t) => unitAt(b, t));
  const task = tasks.includes(st.ct) ? st.ct : tasks[0];
  options($("c-task"), tasks, task, "task");
  const out = $("c-result");
  if (!task || a === b) { out.replaceChildren(h("p", {}, "pick two different sides that share a task")); return; }
  const ua = unitAt(a, task), ub = unitAt(b, task);
  const ia = await SRC.index(ua.key), ib = await SRC.index(ub.key);
  const metrics = Object.keys(ia.metrics).filter((m) => m in ib.metrics);
  const metric = metrics.includes(st.cm) ? st.cm : metrics.includes("acc") ? "acc" : metrics[0];
  options($("c-metric"), metrics, metric, "metric");
  const ids = await idMap(ub.key), va = ia.metrics[metric], vb = ib.metrics[metric];
  const cells = { RR: 0, RW: 0, WR: 0, WW: 0 };
  ia.ids.forEach((id, i) => {
    const j = ids.get(id);
    const x = va[i] ?? null, y = j === undefined ? null : vb[j] ?? null;
    if (x !== null && y !== null) cells[`${x >= 1 ? "R" : "W"}${y >= 1 ? "R" : "W"}`]++;
  });
  const cellLink = (c) => h("a", { href: link({ v: "list", ca: a, cb: b, ct: task, metric, cell: c }), id: `cell-${c}` }, cells[c]);
  const table = h("table", { id: "twobytwo" }, h("tr", {}, h("th", {}, ""), h("th", {}, "B right"), h("th", {}, "B wrong")),
    h("tr", {}, h("th", {}, "A right"), h("td", {}, cellLink("RR")), h("td", {}, cellLink("RW"))),
    h("tr", {}, h("th", {}, "A wrong"), h("td", {}, cellLink("WR")), h("td", {}, cellLink("WW"))));
  const stats = h("div", { id: "c-stats" }, "computing…");
  out.replaceChildren(h("p", {}, `A = ${a} · B = ${b} · ${task} · ${metric}`), table, stats);
  try {
    const c = await SRC.compare(ua.key, ub.key, metric);
    stats.replaceChildren(h("table", {}, ...[["paired samples", "c-n", c.n], ["A better / tie / B better", "c-wtl", `${c.wins}/${c.ties}/${c.losses}`],
      ["mean A", "", fmt(c.mean_a)], ["mean B", "", fmt(c.mean_b)], ["test", "c-test", c.test], ["p", "c-p", c.p_value.toPrecision(4)],
      ["p (Holm)", "", c.p_adjusted.toPrecision(4)], ["verdict", "c-verdict", c.verdict]].map(([k, id, v]) =>
      h("tr", {}, h("th", {}, k), h("td", { id: id || null }, v)))), h("p", { class: "muted" }, "same as: ", h("code", {}, c.command || "assay compare")));
  } catch (e) {
    stats.replaceChildren(h("p", { class: "muted" }, String(e.message || e)));
  }
}

function wireCompare() {
  for (const [id, key] of [["c-a", "ca"], ["c-b", "cb"], ["c-task", "ct"], ["c-metric", "cm"]])
    $(id).addEventListener("change", (e) => go({ v: "compare", [key]: e.target.value }));
}

// ---------------------------------------------------------------------------------------------- start

async function render() {
  const st = state();
  const compare = st.v === "compare";
  $("list-view").hidden = compare; $("compare-view").hidden = !compare;
  $("tab-list").classList.toggle("on", !compare); $("tab-compare").classList.toggle("on", compare);
  try {
    if (compare) await renderCompare(st);
    else { await renderFilters(st); await renderList(st); await renderSample(st); }
    document.body.dataset.ready = String(Date.now());
  } catch (e) {
    $("error").textContent = String(e.message || e);
  }
}

async function start() {
  M = await SRC.manifest();
  $("runs").replaceChildren(...M.runs.map((r) => h("li", {}, h("code", {}, r.id), " ", r.path,
    r.unfinished ? h("span", { class: "tag warn", id: "unfinished" }, "unfinished: shows the tasks it finished") : "")));
  $("tab-list").href = "#"; $("tab-compare").href = "#v=compare";
  wireFilters(); wireCompare();
  window.addEventListener("hashchange", render);
  await render();
}

start();
