/* Petunia's public site: search (the static index or Meilisearch), near you, the shortlist, print.
   Everything shown is put in the page with textContent; links only ever point inside the
   site (paths checked by safePath). No data leaves the browser except search queries to
   the configured Meilisearch. */
(function () {
  "use strict";

  function siteRoot() {
    var config = document.getElementById("__config");
    var base = config ? JSON.parse(config.textContent).base : ".";
    return new URL(base.replace(/\/?$/, "/"), location.href);
  }
  var ROOT = siteRoot();

  // A path inside the site, as our generator writes them: never a scheme or "..".
  function safePath(path) {
    path = String(path || "").replace(/^\//, "");
    return /^[a-z0-9][a-z0-9\/_.-]*$/i.test(path) && path.indexOf("..") < 0 ? path : null;
  }
  function siteUrl(path) {
    return new URL(path, ROOT).toString();
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function resultItem(r) {
    var path = safePath(r.url);
    var li = el("li", "pt-item");
    var a = el("a", "pt-item__title", r.title || path);
    if (path) a.href = siteUrl(path);
    li.appendChild(a);
    if (r.provider) li.appendChild(el("span", "pt-item__by", r.provider));
    var meta = [r.when, r.where, r.distance, r.cost].filter(Boolean).join(" · ");
    if (meta) li.appendChild(el("span", "pt-item__meta", meta));
    return li;
  }

  // ---------------------------------------------------------------------------------------
  // Print buttons
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // ---------------------------------------------------------------------------------------
  // Shortlist: kept in localStorage on this device.
  var KEY = "petunia-shortlist";
  function readList() {
    try {
      var list = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (i) { return i && safePath(i.url); }) : [];
    } catch (e) { return []; }
  }
  function writeList(list) {
    try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  }
  function inList(url) {
    return readList().some(function (i) { return i.url === url; });
  }
  function itemOf(button) {
    return {
      url: button.getAttribute("data-url"),
      title: button.getAttribute("data-title"),
      provider: button.getAttribute("data-provider"),
      when: button.getAttribute("data-when"),
      where: button.getAttribute("data-where"),
      phone: button.getAttribute("data-phone") || "",
      join: button.getAttribute("data-join") || ""
    };
  }
  function showState(button) {
    var on = inList(button.getAttribute("data-url"));
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "On your shortlist (remove)" : "Add to shortlist";
  }
  document.querySelectorAll("[data-shortlist-add]").forEach(function (button) {
    showState(button);
    button.addEventListener("click", function () {
      var item = itemOf(button);
      var list = readList();
      if (inList(item.url)) {
        list = list.filter(function (i) { return i.url !== item.url; });
      } else if (safePath(item.url)) {
        list.push(item);
      }
      writeList(list);
      showState(button);
    });
  });

  var shortlist = document.getElementById("pt-shortlist");
  if (shortlist) {
    var status = document.getElementById("pt-status");
    var shared = new URLSearchParams(location.search).get("s");
    var draw = function (items) {
      shortlist.textContent = "";
      items.forEach(function (item) {
        // On the list (and its printout): when, where, phone and how to join, each on a line.
        var li = resultItem({ url: item.url, title: item.title, provider: item.provider });
        if (item.when) li.appendChild(el("span", "pt-item__meta", "When: " + item.when));
        if (item.where) li.appendChild(el("span", "pt-item__meta", "Where: " + item.where));
        if (item.phone) li.appendChild(el("span", "pt-item__meta", "Phone: " + item.phone));
        if (item.join) li.appendChild(el("span", "pt-item__meta", "How to join: " + item.join));
        shortlist.appendChild(li);
      });
      status.textContent = items.length ? items.length + (items.length === 1 ? " session" : " sessions") + " on the list."
        : "Your shortlist is empty: use \"Add to shortlist\" on a session.";
      var link = new URL(location.href);
      link.search = items.length ? "?s=" + items.map(function (i) { return safePath(i.url); }).join("|") : "";
      document.getElementById("pt-share-url").value = link.toString();
    };
    if (shared) {
      // A shared list holds only paths: each session's details come from its own page.
      var paths = shared.split("|").map(safePath).filter(Boolean).slice(0, 30);
      status.textContent = "Loading the shared list...";
      Promise.all(paths.map(function (path) {
        return fetch(siteUrl(path)).then(function (r) { return r.ok ? r.text() : ""; }).then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var button = doc.querySelector("[data-shortlist-add]");
          return button && button.getAttribute("data-url") === path ? itemOf(button) : null;
        }).catch(function () { return null; });
      })).then(function (items) {
        items = items.filter(Boolean);
        draw(items);
        var keep = document.createElement("button");
        keep.type = "button"; keep.className = "md-button pt-noprint"; keep.textContent = "Keep this list on this device";
        keep.addEventListener("click", function () { writeList(items); keep.remove(); });
        shortlist.after(keep);
      });
    } else {
      draw(readList());
    }
    document.getElementById("pt-share").addEventListener("click", function () {
      var input = document.getElementById("pt-share-url");
      input.select();
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(function () {});
      status.textContent = "Link copied: anyone who opens it sees this list.";
    });
    document.getElementById("pt-clear").addEventListener("click", function () {
      writeList([]);
      history.replaceState(null, "", location.pathname);
      draw([]);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Search: Pagefind (static files) or Meilisearch (when the site was built with it).
  var form = document.getElementById("pt-search");
  if (form) {
    var results = document.getElementById("pt-results");
    var status = document.getElementById("pt-status");
    var more = document.getElementById("pt-more");
    var params = new URLSearchParams(location.search);
    form.q.value = params.get("q") || "";
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.checked = params.getAll(box.name).indexOf(box.value) >= 0;
      // Show the filters when a link or a shared search chose some.
      if (box.checked) form.querySelector("details").open = true;
    });
    var chosen = function () {
      var filters = {};
      form.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
        (filters[box.name] = filters[box.name] || []).push(box.value);
      });
      return filters;
    };
    var engine = form.getAttribute("data-engine");
    var meiliNode = document.getElementById("pt-meili");
    var meili = meiliNode ? JSON.parse(meiliNode.textContent) : null;
    var PAGE = 20;
    var pending = [], shown = 0;

    var showMore = function () {
      var batch = pending.slice(shown, shown + PAGE);
      shown += batch.length;
      return Promise.all(batch.map(function (r) { return r(); })).then(function (items) {
        items.forEach(function (item) { results.appendChild(resultItem(item)); });
        more.hidden = shown >= pending.length;
      });
    };
    more.addEventListener("click", showMore);

    // The static index (sitegen/search_index.py): the same word rules as the build.
    var STOP = ["and", "the", "of", "for", "in", "on", "at", "to", "with", "or", "an", "my"];
    var fold = function (text) { return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, ""); };
    var stem = function (w) {
      if (w.length > 4 && /ies$/.test(w)) return w.slice(0, -3) + "y";
      if (w.length > 4 && /(sses|shes|ches|xes)$/.test(w)) return w.slice(0, -2);
      if (w.length > 3 && /s$/.test(w) && !/(ss|us|is)$/.test(w)) return w.slice(0, -1);
      return w;
    };
    var queryWords = function (text) {
      var found = fold(text).match(/[\p{L}\p{N}]+/gu) || [];
      return found.filter(function (w) { return (w.length > 1 || /^\d$/.test(w)) && STOP.indexOf(w) < 0; })
        .map(stem).filter(function (w, i, all) { return all.indexOf(w) === i; });
    };
    var shardKey = function (word) {
      return Array.from(word).slice(0, 2).map(function (c) {
        return /^[a-z0-9]$/.test(c) ? c : "_" + c.codePointAt(0).toString(16);
      }).join("");
    };
    var oneEdit = function (a, b) {
      if (Math.abs(a.length - b.length) > 1) return false;
      var i = 0, j = 0, edits = 0;
      while (i < a.length && j < b.length) {
        if (a[i] === b[j]) { i++; j++; continue; }
        if (++edits > 1) return false;
        if (a.length > b.length) i++; else if (b.length > a.length) j++; else { i++; j++; }
      }
      return edits + (a.length - i) + (b.length - j) <= 1;
    };
    var files = {};
    var getFile = function (path) {
      if (!files[path]) {
        files[path] = fetch(siteUrl("search-index/" + path)).then(function (r) {
          if (!r.ok) throw new Error("the search index is missing (" + r.status + ")");
          return r.json();
        });
      }
      return files[path];
    };
    var undelta = function (list) {
      var out = [], last = 0;
      list.forEach(function (d) { last += d; out.push(last); });
      return out;
    };
    var matchWord = function (index, word) {
      var key = shardKey(word);
      if (index.shards.indexOf(key) < 0) return Promise.resolve(new Map());
      return getFile("t/" + key + ".json").then(function (shard) {
        var scores = new Map();
        Object.keys(shard).forEach(function (term) {
          var factor = term === word ? 1 : term.indexOf(word) === 0 ? 0.8
            : word.length >= 5 && (oneEdit(term, word) || oneEdit(term.slice(0, word.length), word)) ? 0.5 : 0;
          if (!factor) return;
          var flat = shard[term], id = 0;
          for (var i = 0; i < flat.length; i += 2) {
            id += flat[i];
            var score = flat[i + 1] * factor;
            if (!(scores.get(id) >= score)) scores.set(id, score);
          }
        });
        return scores;
      });
    };
    var facetDocs = function (index, facet, values) {
      var known = index.facets[facet] || {};
      return Promise.all(values.map(function (v) {
        return v in known ? getFile("f/" + facet + "/" + known[v] + ".json").then(undelta) : [];
      })).then(function (lists) {
        var set = new Set();
        lists.forEach(function (ids) { ids.forEach(function (id) { set.add(id); }); });
        return set;
      });
    };
    var staticSearch = function (q, filters) {
      return getFile("index.json").then(function (index) {
        var words = queryWords(q);
        var facets = Object.keys(filters);
        return Promise.all([
          Promise.all(words.map(function (w) { return matchWord(index, w); })),
          Promise.all(facets.map(function (f) { return facetDocs(index, f, filters[f]); }))
        ]).then(function (got) {
          var perWord = got[0], sets = got[1], ranked = [];
          var keep = function (id) { return sets.every(function (set) { return set.has(id); }); };
          if (words.length) {
            perWord[0].forEach(function (score, id) {
              var total = score;
              for (var k = 1; k < perWord.length; k++) {
                if (!perWord[k].has(id)) return;
                total += perWord[k].get(id);
              }
              if (keep(id)) ranked.push([id, total]);
            });
            ranked.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
          } else {
            var smallest = sets.slice().sort(function (a, b) { return a.size - b.size; })[0];
            smallest.forEach(function (id) { if (keep(id)) ranked.push([id, 0]); });
            ranked.sort(function (a, b) { return a[0] - b[0]; });
          }
          return ranked.map(function (pair) {
            var id = pair[0];
            return function () {
              return getFile("d/" + Math.floor(id / index.chunk) + ".json").then(function (chunk) {
                var r = chunk[id % index.chunk];
                return { url: r[0], title: r[1], provider: r[2], when: r[3], where: r[4], cost: r[5] };
              });
            };
          });
        });
      });
    };
    var meiliQuote = function (value) { return '"' + String(value).replace(/["\\]/g, "\\$&") + '"'; };
    var meiliSearch = function (q, filters) {
      var filter = Object.keys(filters).map(function (k) {
        return filters[k].map(function (v) { return k + " = " + meiliQuote(v); });
      });
      return fetch(meili.url.replace(/\/$/, "") + "/indexes/" + encodeURIComponent(meili.index) + "/search", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + meili.key },
        body: JSON.stringify({ q: q || "", filter: filter, limit: 200 })
      }).then(function (r) {
        if (!r.ok) throw new Error("search service answered " + r.status);
        return r.json();
      }).then(function (body) {
        return body.hits.map(function (hit) {
          var item = { url: hit.url, title: hit.title, provider: hit.provider, when: hit.when,
                       where: hit.where, cost: hit.cost_text };
          return function () { return Promise.resolve(item); };
        });
      });
    };

    var run = function () {
      var q = form.q.value.trim();
      var filters = chosen();
      if (!q && !Object.keys(filters).length) {
        status.textContent = "Type what you are looking for, or pick a filter.";
        return;
      }
      status.textContent = "Searching...";
      results.textContent = "";
      var search = engine === "meilisearch" && meili ? meiliSearch : staticSearch;
      search(q, filters).then(function (found) {
        pending = found; shown = 0;
        // The status is announced once the first results are on the page.
        return showMore().then(function () {
          status.textContent = found.length ? found.length + (found.length === 1 ? " result" : " results") + (q ? " for \u201c" + q + "\u201d" : "") + "."
            : "Nothing found" + (q ? " for \u201c" + q + "\u201d" : "") + ". Try fewer words or fewer filters.";
        });
      }).catch(function (error) {
        status.textContent = "Search is not working at the moment (" + error.message + "). You can still browse by type of activity, day or area.";
      });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = new URLSearchParams(new FormData(form));
      history.replaceState(null, "", "?" + query.toString());
      run();
    });
    if (params.toString()) run();
  }

  // ---------------------------------------------------------------------------------------
  // Near you: postcode -> centroid from data/postcodes/<outward>.json, sessions from the
  // grid cells around it (data/near/<cell>.json), nearest first.
  var near = document.getElementById("pt-near");
  if (near) {
    var status = document.getElementById("pt-status");
    var error = document.getElementById("postcode-error");
    var list = document.getElementById("pt-results");
    var params = new URLSearchParams(location.search);
    near.postcode.value = params.get("postcode") || "";
    if (params.get("radius")) near.radius.value = params.get("radius");
    ["free", "stepfree", "dropin"].forEach(function (n) { near[n].checked = params.get(n) === "1"; });
    var POSTCODE = /^([A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?) ?([0-9][ABD-HJLNP-UW-Z]{2})$/;
    var getJson = function (path) {
      return fetch(siteUrl(path)).then(function (r) { return r.ok ? r.json() : null; });
    };
    var km = function (a, b, c, d) {
      var R = 6371.0088, rad = Math.PI / 180;
      var dl = (c - a) * rad, dn = (d - b) * rad;
      var h = Math.sin(dl / 2) * Math.sin(dl / 2) + Math.cos(a * rad) * Math.cos(c * rad) * Math.sin(dn / 2) * Math.sin(dn / 2);
      return 2 * R * Math.asin(Math.sqrt(h));
    };
    var find = function () {
      error.textContent = "";
      near.postcode.removeAttribute("aria-invalid");
      var raw = near.postcode.value.toUpperCase().replace(/\s+/g, " ").trim();
      var m = POSTCODE.exec(raw.replace(/ /g, "")) ;
      if (!m) {
        near.postcode.setAttribute("aria-invalid", "true");
        error.textContent = raw ? "\u201c" + raw + "\u201d is not a UK postcode: it looks like AT1 2AB." : "Enter a postcode, like AT1 2AB.";
        near.postcode.focus();
        return;
      }
      var postcode = m[1] + " " + m[2];
      var radius = parseFloat(near.radius.value) || 5;
      status.textContent = "Looking for groups near " + postcode + "...";
      list.textContent = "";
      Promise.all([getJson("data/postcodes/" + m[1] + ".json"), getJson("data/near/index.json")]).then(function (got) {
        var points = got[0], index = got[1];
        var here = points && points[postcode];
        if (!here) {
          near.postcode.setAttribute("aria-invalid", "true");
          error.textContent = "We do not know where " + postcode + " is. Check it, or browse by area.";
          status.textContent = "";
          return;
        }
        var size = index.cell, dLat = radius / 111.2, dLon = radius / (111.2 * Math.cos(here[0] * Math.PI / 180));
        var cells = [];
        for (var i = Math.floor((here[0] - dLat) / size[0]); i <= Math.floor((here[0] + dLat) / size[0]); i++) {
          for (var j = Math.floor((here[1] - dLon) / size[1]); j <= Math.floor((here[1] + dLon) / size[1]); j++) {
            if (index.cells.indexOf(i + "_" + j) >= 0) cells.push(i + "_" + j);
          }
        }
        return Promise.all(cells.map(function (c) { return getJson("data/near/" + c + ".json"); })).then(function (parts) {
          var want = (near.free.checked ? 1 : 0) | (near.stepfree.checked ? 2 : 0) | (near.dropin.checked ? 4 : 0);
          var found = [];
          parts.forEach(function (rows) {
            (rows || []).forEach(function (r) {
              if ((r[8] & want) !== want) return;
              var d = km(here[0], here[1], r[6], r[7]);
              if (d <= radius) found.push({ url: r[0], title: r[1], provider: r[2], where: r[3], when: r[4], cost: r[5], km: d });
            });
          });
          found.sort(function (a, b) { return a.km - b.km; });
          found.forEach(function (f) {
            f.distance = (f.km < 0.1 ? "under 0.1" : f.km.toFixed(1)) + " km away";
            list.appendChild(resultItem(f));
          });
          status.textContent = found.length + (found.length === 1 ? " session" : " sessions") + " within " + radius + " km of " + postcode + ".";
        });
      }).catch(function (e) {
        status.textContent = "Something went wrong (" + e.message + "). Please try again.";
      });
    };
    near.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = new URLSearchParams(new FormData(near));
      history.replaceState(null, "", "?" + query.toString());
      find();
    });
    if (params.get("postcode")) find();
  }
})();
