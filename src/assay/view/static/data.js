// Where the explorer's data comes from: the `assay view` server (fetch) or the report's files (script tags,
// which work from file:// where fetch does not). Both give the same calls:
//   manifest() index(unit) rows(unit, numbers) search(unit, query) compare(a, b, metric)
"use strict";

function serverSource() {
  const cache = new Map();
  async function get(url) {
    const r = await fetch(url);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }
  function once(key, make) {
    if (!cache.has(key)) cache.set(key, make().catch((e) => { cache.delete(key); throw e; }));
    return cache.get(key);
  }
  const q = encodeURIComponent;
  return {
    manifest: () => once("manifest", () => get("api/manifest")),
    index: (unit) => once("i:" + unit, () => get(`api/index?unit=${q(unit)}`)),
    rows: (unit, numbers) => get(`api/rows?unit=${q(unit)}&rows=${numbers.join(",")}`),
    search: (unit, query) =>
      once(`s:${unit}:${query}`, () => get(`api/search?unit=${q(unit)}&q=${q(query)}`).then((b) => b.rows)),
    compare: (a, b, metric) =>
      once(`c:${a}:${b}:${metric}`, () => get(`api/compare?a=${q(a)}&b=${q(b)}&metric=${q(metric)}`)),
  };
}

// Static files call assayData(name, payload); loadData(name) adds the script tag and waits for that call.
const pending = new Map();
window.assayData = function (name, payload) {
  const p = pending.get(name);
  if (p) p.resolve(payload);
};

function staticSource(base) {
  const loaded = new Map();
  const chunks = new Map(); // a few recent chunks only: a search over a large run does not keep them all
  function loadData(name) {
    if (loaded.has(name)) return loaded.get(name);
    const promise = new Promise((resolve, reject) => {
      pending.set(name, { resolve });
      const s = document.createElement("script");
      s.src = `${base}${name}.js`;
      s.onerror = () => reject(new Error(`cannot load ${s.src}`));
      s.onload = () => s.remove();
      document.head.appendChild(s);
    }).finally(() => pending.delete(name));
    loaded.set(name, promise);
    return promise;
  }
  async function chunk(unit, k) {
    const name = `${unit}/c${k}`;
    if (!chunks.has(name)) {
      // the report's rows leave out the prompt, which is their folded part and question together
      chunks.set(name, loadData(name).then((rows) => rows.map((r) => ({ ...r, prompt: r.fold + r.question }))));
      loaded.delete(name);
      if (chunks.size > 40) chunks.delete(chunks.keys().next().value);
    }
    return chunks.get(name);
  }
  const manifest = () => loadData("manifest");
  async function rows(unit, numbers) {
    const size = (await manifest()).chunk;
    const out = [];
    for (const i of numbers) out.push((await chunk(unit, Math.floor(i / size)))[i % size]);
    return out;
  }
  const searches = new Map();
  async function search(unit, query) {
    const key = `${unit}:${query}`;
    if (searches.has(key)) return searches.get(key);
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const { n } = await loadData(`${unit}/index`);
    const size = (await manifest()).chunk;
    const hits = [];
    for (let k = 0; k * size < n; k++) {
      const part = await chunk(unit, k);
      part.forEach((row, j) => {
        const text = rowTexts(row).toLowerCase();
        if (words.every((w) => text.includes(w))) hits.push(k * size + j);
      });
    }
    searches.set(key, hits);
    return hits;
  }
  async function compare(a, b, metric) {
    const found = ((await manifest()).compares || {})[`${a}|${b}|${metric}`];
    if (!found) throw new Error("this pair was not compared when the report was written");
    return found;
  }
  return { manifest, index: (unit) => loadData(`${unit}/index`), rows, search, compare };
}

function rowTexts(row) {
  const out = [];
  for (const name of ["prompt", "outputs", "choices", "prediction", "target"]) {
    const v = row[name];
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => typeof x === "string" && out.push(x));
  }
  return out.join("\n");
}
