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
  // Maps: only when the site was built with a tile server (PETUNIA_MAP_TILES). Leaflet
  // (vendored, BSD licence) is loaded then and only then; without it nothing is fetched.
  var leaflet = null;
  var loadLeaflet = function () {
    if (!leaflet) {
      leaflet = new Promise(function (resolve, reject) {
        var css = document.createElement("link");
        css.rel = "stylesheet";
        css.href = siteUrl("assets/petunia/vendor/leaflet/leaflet.css");
        document.head.appendChild(css);
        var script = document.createElement("script");
        script.src = siteUrl("assets/petunia/vendor/leaflet/leaflet.js");
        script.onload = function () {
          window.L.Icon.Default.imagePath = siteUrl("assets/petunia/vendor/leaflet/images/");
          resolve(window.L);
        };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return leaflet;
  };
  // points: [[lat, lon, label], ...]; the map fits them all (and "here").
  var drawMap = function (box, points, here) {
    return loadLeaflet().then(function (L) {
      if (box._ptMap) { box._ptMap.remove(); box._ptMap = null; }
      var map = L.map(box, { scrollWheelZoom: false });
      box._ptMap = map;
      L.tileLayer(box.getAttribute("data-tiles"), {
        maxZoom: 19, attribution: box.getAttribute("data-attribution")
      }).addTo(map);
      var bounds = [];
      // Markers show where; they are not controls (the list beside the map links each
      // result, and markers of one venue would overlap as targets, WCAG 2.5.8).
      points.forEach(function (p) {
        var label = String(p[2] || "");
        L.marker([p[0], p[1]], { alt: label, interactive: false, keyboard: false }).addTo(map);
        bounds.push([p[0], p[1]]);
      });
      if (here) {
        L.circleMarker([here.lat, here.lon], { radius: 7, interactive: false }).addTo(map);
        bounds.push([here.lat, here.lon]);
      }
      if (bounds.length > 1) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
      else if (bounds.length) map.setView(bounds[0], 16);
      return map;
    });
  };
  document.querySelectorAll("[data-pt-map]").forEach(function (box) {
    var points = [];
    try { points = JSON.parse(box.getAttribute("data-points")); } catch (e) { return; }
    // The page is complete without the map: a failure only leaves the box empty.
    drawMap(box, points).catch(function () { box.hidden = true; });
  });


  // ---------------------------------------------------------------------------------------
  // Search: what and where in one form. The static index (assets/petunia/search-core.js,
  // loaded only when a search runs) or Meilisearch (when the site was built with it).
  // Everything asked is in the URL, so a link worker can send the search as a link.
  var form = document.getElementById("pt-search");
  if (form) {
    var results = document.getElementById("pt-results");
    var status = document.getElementById("pt-status");
    var chosenLine = document.getElementById("pt-chosen");
    var more = document.getElementById("pt-more");
    var placeError = document.getElementById("place-error");
    var details = form.querySelector("details");
    var locate = document.getElementById("pt-locate");
    var PAGE = 20;
    var pending = [], shown = 0, page = 1;
    var FACET_NAMES = [];
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (FACET_NAMES.indexOf(box.name) < 0) FACET_NAMES.push(box.name);
    });

    var fillForm = function (params) {
      form.q.value = params.get("q") || "";
      form.postcode.value = params.get("postcode") || "";
      if (params.get("miles")) form.miles.value = params.get("miles");
      form.lat.value = params.get("lat") || "";
      form.lon.value = params.get("lon") || "";
      form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        box.checked = params.getAll(box.name).indexOf(box.value) >= 0;
      });
      page = Math.max(1, Math.min(50, parseInt(params.get("page"), 10) || 1));
    };
    var chosen = function () {
      var filters = {};
      form.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
        (filters[box.name] = filters[box.name] || []).push(box.value);
      });
      return filters;
    };
    var chosenLabels = function () {
      return Array.prototype.map.call(form.querySelectorAll("input[type=checkbox]:checked"), function (box) {
        return box.value;
      });
    };
    // The URL of the search as the form stands (empty fields left out), page 1 unless given.
    var queryOf = function (withPage) {
      var query = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (String(value).trim() && !(name === "miles" && !form.postcode.value.trim() && !form.lat.value)) query.append(name, String(value).trim());
      });
      if (withPage > 1) query.set("page", String(withPage));
      return query;
    };
    var remember = function () {
      var query = queryOf(page);
      history.replaceState(null, "", "?" + query.toString());
    };

    var engine = form.getAttribute("data-engine");
    var meiliNode = document.getElementById("pt-meili");
    var meili = meiliNode ? JSON.parse(meiliNode.textContent) : null;
    var core = null;
    var loadCore = function () {
      core = core || import(siteUrl("assets/petunia/search-core.js"));
      return core;
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
    var milesText = function (m) {
      if (m === undefined || m === null) return "";
      return (m < 0.1 ? "under 0.1" : m.toFixed(1)) + (m >= 0.95 && m < 1.05 ? " mile" : " miles") + " away";
    };

    var resultsMap = document.getElementById("pt-results-map");
    var showResultsMap = function (place) {
      if (!resultsMap) return;
      var points = [];
      pending.slice(0, shown).forEach(function (r) { if (r.at) points.push(r.at); });
      resultsMap.hidden = !(place && points.length);
      if (!resultsMap.hidden) drawMap(resultsMap, points, place).catch(function () { resultsMap.hidden = true; });
    };
    var showMore = function () {
      var batch = pending.slice(shown, shown + PAGE);
      shown += batch.length;
      return Promise.all(batch.map(function (r) { return r(); })).then(function (items) {
        items.forEach(function (item) { results.appendChild(resultItem(item)); });
        more.hidden = shown >= pending.length;
      });
    };
    more.addEventListener("click", function () {
      var first = shown;
      page += 1;
      remember();
      showMore().then(function () {
        // Move to the first new result, so a keyboard or screen reader user carries on there.
        var link = results.children[first] && results.children[first].querySelector("a");
        if (link) link.focus();
      });
    });

    var staticSearch = function (q, filters, place) {
      return loadCore().then(function (m) {
        return m.search(getFile, q, filters, place).then(function (ranked) {
          return ranked.map(function (r) {
            var thunk = function () {
              return m.record(getFile, r.id).then(function (item) {
                item.distance = milesText(r.miles);
                if (thunk.at) thunk.at[2] = item.title;
                return item;
              });
            };
            if (r.lat !== undefined) thunk.at = [r.lat, r.lon, ""];
            return thunk;
          });
        });
      });
    };
    var meiliQuote = function (value) { return '"' + String(value).replace(/["\\]/g, "\\$&") + '"'; };
    var meiliSearch = function (q, filters, place) {
      var filter = Object.keys(filters).map(function (k) {
        return filters[k].map(function (v) { return k + " = " + meiliQuote(v); });
      });
      var body = { q: q || "", filter: filter, limit: 1000 };
      if (place) {
        // Meilisearch's geo search: within the radius, nearest first.
        var at = place.lat.toFixed(5) + ", " + place.lon.toFixed(5);
        filter.push("_geoRadius(" + at + ", " + Math.round(place.miles * 1609.344) + ")");
        body.sort = ["_geoPoint(" + at + "):asc"];
      }
      return fetch(meili.url.replace(/\/$/, "") + "/indexes/" + encodeURIComponent(meili.index) + "/search", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + meili.key },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (!r.ok) throw new Error("search service answered " + r.status);
        return r.json();
      }).then(function (answer) {
        return answer.hits.map(function (hit) {
          var item = { url: hit.url, title: hit.title, provider: hit.provider, when: hit.when,
                       where: hit.where, cost: hit.cost_text,
                       distance: place && hit._geoDistance !== undefined ? milesText(hit._geoDistance / 1609.344) : "" };
          var thunk = function () { return Promise.resolve(item); };
          if (hit._geo) thunk.at = [hit._geo.lat, hit._geo.lng, hit.title];
          return thunk;
        });
      });
    };

    // Where: a postcode (or an outward code such as AT1) from the build's postcode files,
    // fetched only when a place is asked for; or the browser's location.
    var POSTCODE = /^([A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?) ?([0-9][ABD-HJLNP-UW-Z]{2})?$/;
    var resolvePlace = function (text, miles) {
      var lat = parseFloat(form.lat.value), lon = parseFloat(form.lon.value);
      if (!text && isFinite(lat) && isFinite(lon)) return Promise.resolve({ lat: lat, lon: lon, miles: miles, name: "your location" });
      if (!text) return Promise.resolve(null);
      var raw = text.toUpperCase().replace(/\s+/g, "");
      var m = POSTCODE.exec(raw);
      if (!m) return Promise.reject(new PlaceError("\u201c" + text + "\u201d is not a UK postcode: it looks like AT1 2AB."));
      var name = m[2] ? m[1] + " " + m[2] : m[1];
      return fetch(siteUrl("data/postcodes/" + m[1] + ".json")).then(function (r) {
        return r.ok ? r.json() : {};
      }).then(function (points) {
        var here = m[2] ? points[name] : null;
        if (!here) {
          // An outward code, or a postcode we do not have: the middle of its district.
          var all = m[2] ? [] : Object.keys(points).map(function (k) { return points[k]; });
          if (!all.length) throw new PlaceError("We do not know where " + name + " is. Check it, or leave the place empty.");
          here = [all.reduce(function (s, p) { return s + p[0]; }, 0) / all.length,
                  all.reduce(function (s, p) { return s + p[1]; }, 0) / all.length];
        }
        return { lat: here[0], lon: here[1], miles: miles, name: name };
      });
    };
    function PlaceError(message) { this.message = message; }

    var describe = function (count, q, place, labels) {
      var text = count ? count + (count === 1 ? " result" : " results") : "Nothing found";
      if (q) text += " for \u201c" + q + "\u201d";
      if (place) text += " within " + place.miles + (place.miles === 1 ? " mile" : " miles") + " of " + place.name + (count ? ", nearest first" : "");
      if (labels.length) text += ", with " + (labels.length === 1 ? "the filter " : "the filters ") + labels.join(", ");
      text += ".";
      if (!count) text += place ? " Try a wider distance, fewer words or fewer filters." : " Try fewer words or fewer filters.";
      return text;
    };
    var showChosen = function (labels) {
      chosenLine.textContent = "";
      if (!labels.length) return;
      chosenLine.appendChild(document.createTextNode("Filters: " + labels.join(", ") + ". "));
      var clear = el("a", "pt-clear", "Clear filters");
      var query = queryOf(1);
      FACET_NAMES.forEach(function (n) { query.delete(n); });
      clear.href = "?" + query.toString();
      clear.addEventListener("click", function (event) {
        event.preventDefault();
        form.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
        page = 1;
        remember();
        run(true);
      });
      chosenLine.appendChild(clear);
    };

    var run = function (moveFocus) {
      var split = { words: form.q.value.trim(), place: "" };
      var filters = chosen();
      var labels = chosenLabels();
      var miles = parseFloat(form.miles.value) || 5;
      placeError.textContent = "";
      form.postcode.removeAttribute("aria-invalid");
      showChosen(labels);
      var start = function () {
        var q = split.words;
        if (!q && !form.postcode.value.trim() && !form.lat.value && !labels.length) {
          status.textContent = "Type what you are looking for or where, or pick a filter.";
          return;
        }
        status.textContent = "Searching...";
        results.textContent = "";
        more.hidden = true;
        resolvePlace(form.postcode.value.trim(), miles).then(function (place) {
          var search = engine === "meilisearch" && meili ? meiliSearch : staticSearch;
          return search(q, filters, place).then(function (found) {
            pending = found; shown = 0;
            var pages = [];
            for (var p = 0; p < page; p++) pages.push(p);
            return pages.reduce(function (done) { return done.then(showMore); }, Promise.resolve()).then(function () {
              // The status is announced once the first results are on the page.
              status.textContent = describe(found.length, q, place, labels);
              showResultsMap(place);
              if (moveFocus) {
                status.focus();
                status.scrollIntoView({ block: "start" });
              }
            });
          });
        }).catch(function (error) {
          if (error instanceof PlaceError) {
            form.postcode.setAttribute("aria-invalid", "true");
            placeError.textContent = error.message;
            status.textContent = "";
            form.postcode.focus();
            return;
          }
          status.textContent = "Search is not working at the moment (" + error.message + "). You can still browse by type of activity, day or area.";
        });
      };
      // "cookery near AT1 2AB" typed in the words box: the place goes in its own box.
      if (!form.postcode.value.trim() && !form.lat.value && /\d/.test(split.words)) {
        loadCore().then(function (m) {
          split = m.splitPlace(split.words);
          if (split.place) {
            form.q.value = split.words;
            form.postcode.value = split.place;
            remember();
          }
          start();
        }, start);
      } else {
        start();
      }
    };

    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        status.textContent = "Finding where you are...";
        navigator.geolocation.getCurrentPosition(function (position) {
          // About 100 m: enough to order by distance, no closer than it needs to be.
          form.lat.value = position.coords.latitude.toFixed(3);
          form.lon.value = position.coords.longitude.toFixed(3);
          form.postcode.value = "";
          page = 1;
          remember();
          run(true);
        }, function () {
          status.textContent = "Your location is not available: type a postcode instead.";
        });
      });
    }
    form.postcode.addEventListener("input", function () { form.lat.value = ""; form.lon.value = ""; });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // The filters are chosen: close the panel so the results are what comes next.
      if (details) details.open = false;
      page = 1;
      remember();
      run(true);
    });
    var params = new URLSearchParams(location.search);
    fillForm(params);
    if (params.toString()) run(false);
  }

  // ---------------------------------------------------------------------------------------
  // "Near you" is now part of Search: an old link (or the home page's postcode box in an
  // older copy of the site) lands on the same search, kilometres turned into miles.
  var moved = document.getElementById("pt-near-moved");
  if (moved) {
    var old = new URLSearchParams(location.search);
    var query = new URLSearchParams();
    if (old.get("postcode")) query.set("postcode", old.get("postcode"));
    if (old.get("radius")) {
      var km = parseFloat(old.get("radius"));
      var choices = [1, 3, 5, 10, 25];
      query.set("miles", String(choices.filter(function (m) { return m >= km / 1.609344 - 0.01; })[0] || 25));
    }
    if (old.get("free") === "1") query.append("cost", "Free");
    if (old.get("stepfree") === "1") query.append("access", "Step-free");
    if (old.get("dropin") === "1") query.append("join", "Drop in");
    location.replace(siteUrl("search/") + (query.toString() ? "?" + query.toString() : ""));
  }
})();
