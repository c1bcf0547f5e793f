/* The matching logic of the site's static search (the index sitegen/search_index.py writes),
   as a module with no page in it: site.js loads it when a search runs, and
   benchmarks/search_relevance.py runs this same file in Node on the judged queries.
   Words: lower case, accents removed, Snowball English stems (the vendored official
   JavaScript; the build uses the same algorithm from Python), the synonym groups and optional
   words the index carries. Every query word matches as a prefix, and words of five letters or
   more with one typo. */
import EnglishStemmer from "./vendor/snowball/english-stemmer.js";

const stemmer = new EnglishStemmer();

export function fold(text) {
  return String(text).toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
}

export function stem(word) {
  return stemmer.stemWord(word);
}

/* The query's words as the index holds them: [{term, optional}], each once. */
export function queryWords(text, index) {
  const stop = index.stop || [];
  const groups = index.synonyms || {};
  const optional = index.optional || [];
  const seen = new Set();
  const out = [];
  for (const w of fold(text).match(/[\p{L}\p{N}]+/gu) || []) {
    if (!(w.length > 1 || /^\d$/.test(w)) || stop.includes(w)) continue;
    const s = stem(w);
    const term = groups[s] || s;
    if (seen.has(term)) continue;
    seen.add(term);
    out.push({ term, optional: optional.includes(s) });
  }
  // Only optional words ("club"): they are what was asked for.
  if (out.every((w) => w.optional)) out.forEach((w) => { w.optional = false; });
  return out;
}

/* "cookery near AT1 2AB", "walks in AT1": the words and the place, when the words end in a
   postcode or an outward code. */
const PLACE = /^(.*?)(?:\s+(?:near|in|around|at))?\s*\b([A-Z]{1,2}[0-9][0-9A-Z]?(?:\s*[0-9][A-Z]{2})?)\s*$/i;
export function splitPlace(text) {
  const m = PLACE.exec(String(text || "").trim());
  if (!m || !/[0-9]/.test(m[2])) return { words: String(text || "").trim(), place: "" };
  return { words: m[1].trim(), place: m[2].toUpperCase() };
}

export function shardKey(word) {
  return Array.from(word).slice(0, 2).map((c) =>
    /^[a-z0-9]$/.test(c) ? c : "_" + c.codePointAt(0).toString(16)).join("");
}

export function oneEdit(a, b) {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0, j = 0, edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { i++; j++; continue; }
    if (++edits > 1) return false;
    if (a.length > b.length) i++; else if (b.length > a.length) j++; else { i++; j++; }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/* How well an indexed term answers a query word: 1 the same, 0.8 a longer word, 0.5 a typo
   ("walkng" is not stemmed to "walk", so a term within one edit of its start counts too). */
export function factor(term, word) {
  if (term === word) return 1;
  if (term.startsWith(word)) return 0.8;
  if (word.length < 5) return 0;
  if (oneEdit(term, word) || oneEdit(term.slice(0, word.length), word)) return 0.5;
  if (term.length >= 4 && word.length - term.length === 2 && oneEdit(term, word.slice(0, term.length + 1))) return 0.5;
  return 0;
}

function undelta(list) {
  const out = [];
  let last = 0;
  for (const d of list) { last += d; out.push(last); }
  return out;
}

async function matchWord(getFile, index, word) {
  const scores = new Map();
  const key = shardKey(word);
  if (!index.shards.includes(key)) return scores;
  const shard = await getFile("t/" + key + ".json");
  for (const term of Object.keys(shard)) {
    const f = factor(term, word);
    if (!f) continue;
    const flat = shard[term];
    let id = 0;
    for (let i = 0; i < flat.length; i += 2) {
      id += flat[i];
      const score = flat[i + 1] * f;
      if (!(scores.get(id) >= score)) scores.set(id, score);
    }
  }
  return scores;
}

async function facetDocs(getFile, index, facet, values) {
  const known = index.facets[facet] || {};
  const lists = await Promise.all(values.map((v) =>
    v in known ? getFile("f/" + facet + "/" + known[v] + ".json").then(undelta) : []));
  const set = new Set();
  lists.forEach((ids) => ids.forEach((id) => set.add(id)));
  return set;
}

const MILE_KM = 1.609344;
export function miles(lat1, lon1, lat2, lon2) {
  const R = 6371.0088, rad = Math.PI / 180;
  const dl = (lat2 - lat1) * rad, dn = (lon2 - lon1) * rad;
  const h = Math.sin(dl / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dn / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h)) / MILE_KM;
}

/* Documents meeting within place.miles of place (lat, lon): Map id -> {miles, lat, lon}. */
async function nearDocs(getFile, index, place) {
  const geo = index.geo;
  const size = geo.cell;
  const dLat = place.miles * MILE_KM / 111.2;
  const dLon = place.miles * MILE_KM / (111.2 * Math.cos(place.lat * Math.PI / 180));
  const cells = [];
  for (let i = Math.floor((place.lat - dLat) / size[0]); i <= Math.floor((place.lat + dLat) / size[0]); i++) {
    for (let j = Math.floor((place.lon - dLon) / size[1]); j <= Math.floor((place.lon + dLon) / size[1]); j++) {
      if (geo.cells.includes(i + "_" + j)) cells.push(i + "_" + j);
    }
  }
  const found = new Map();
  for (const flat of await Promise.all(cells.map((c) => getFile("g/" + c + ".json")))) {
    for (let k = 0; k < flat.length; k += 3) {
      const lat = flat[k + 1] / 1e5, lon = flat[k + 2] / 1e5;
      const d = miles(place.lat, place.lon, lat, lon);
      if (d <= place.miles) found.set(flat[k], { miles: d, lat, lon });
    }
  }
  return found;
}

/* The ranked documents: [{id, score, miles, lat, lon}], best first (nearest first with a
   place; miles and where only then).
   getFile(path) resolves to the parsed JSON of search-index/<path>; filters is
   {facet: [values]}; place is null or {lat, lon, miles}. */
export async function search(getFile, q, filters, place) {
  const index = await getFile("index.json");
  const words = queryWords(q, index);
  const facets = Object.keys(filters || {});
  const [perWord, sets, near] = await Promise.all([
    Promise.all(words.map((w) => matchWord(getFile, index, w.term))),
    Promise.all(facets.map((f) => facetDocs(getFile, index, f, filters[f]))),
    place ? nearDocs(getFile, index, place) : null,
  ]);
  const keep = (id) => sets.every((set) => set.has(id)) && (!near || near.has(id));
  const ranked = [];
  if (words.length) {
    // Every word must match; when nothing matches them all, the last words are let go one
    // by one (as Meilisearch's "last" matching strategy does): "money worries" finds money.
    let needed = words.filter((w) => !w.optional).length;
    for (; needed > 0 && !ranked.length; needed--) {
      let seen = 0;
      const need = words.map((w) => !w.optional && ++seen <= needed);
      const first = words.findIndex((w, k) => need[k]);
      perWord[first].forEach((_, id) => {
        let total = 0;
        for (let k = 0; k < words.length; k++) {
          const s = perWord[k].get(id);
          if (s === undefined) { if (need[k]) return; continue; }
          total += s;
        }
        if (keep(id)) ranked.push({ id, score: total });
      });
    }
  } else {
    const pool = near ? [...near.keys()]
      : [...(sets.slice().sort((a, b) => a.size - b.size)[0] || [])];
    pool.forEach((id) => { if (keep(id)) ranked.push({ id, score: 0 }); });
  }
  if (near) ranked.forEach((r) => { Object.assign(r, near.get(r.id)); });
  ranked.sort((a, b) => (near ? a.miles - b.miles : 0) || b.score - a.score || a.id - b.id);
  return ranked;
}

/* The record of one document: {url, title, provider, when, where, cost}. */
export async function record(getFile, id) {
  const index = await getFile("index.json");
  const chunk = await getFile("d/" + Math.floor(id / index.chunk) + ".json");
  const r = chunk[id % index.chunk];
  return { url: r[0], title: r[1], provider: r[2], when: r[3], where: r[4], cost: r[5] };
}
