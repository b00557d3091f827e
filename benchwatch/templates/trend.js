/* benchwatch trend report (see benchwatch/render/trend/site.py).  Loads data lazily from <script> files
   (fetch() is refused from file://), inflates them with DecompressionStream, draws with uPlot.
   Text from the data is set with textContent or drawn on a canvas: never parsed as HTML. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("bw-config").textContent);
  var METRICS = ["p50", "p95", "p99", "peak_memory", "instructions"];
  var LABELS = { p50: "p50", p95: "p95", p99: "p99", peak_memory: "peak memory", instructions: "instructions" };
  var COLORS = { p50: "#1f6feb", p95: "#d97706", p99: "#b42318", peak_memory: "#7c3aed", instructions: "#0f766e" };
  var MAX_RESULTS = 200;
  var index = null, byName = {}, chunks = {}, waiting = {}, indexWaiting = [];
  var plots = [];
  var wanted = null;  /* the benchmark last asked for: a slower earlier load must not draw over it */
  var BW = window.BW = {};
  var INVISIBLE = new RegExp(config.invisible, "gu");

  /* The one way a name, tag or message from the data is shown: invisible formatting characters (U+202E
     reverses the text, U+200B hides in it) as "‹U+XXXX›", the same class the page's HTML reveals
     (benchwatch/render/invisible.py).  Keys (links, lookups, the address) use the raw name or its row. */
  function shown(text) {
    return String(text).replace(INVISIBLE, function (ch) {
      return "‹U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + "›";
    });
  }
  BW.shown = shown;

  function inflate(text) {
    var binary = atob(text), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Response(stream).text().then(JSON.parse);
  }

  function loadScript(name) {
    var script = document.createElement("script");
    script.src = config.data + "/" + name;
    script.onerror = function () { showError("could not load " + name); };
    document.head.appendChild(script);
  }

  function showError(message) {
    var facts = document.getElementById("chart-facts");
    facts.textContent = "Error: " + message;
  }

  BW.index = function (text) {
    inflate(text).then(function (doc) {
      index = doc;
      doc.benchmarks.forEach(function (row) { byName[row[0]] = row; });
      indexWaiting.splice(0).forEach(function (done) { done(doc); });
      document.body.setAttribute("data-index", String(doc.benchmarks.length));
    });
  };

  BW.chunk = function (id, text) {
    inflate(text).then(function (list) {
      var map = {};
      list.forEach(function (entry) { map[entry[0]] = entry[1]; });
      chunks[id] = map;
      (waiting[id] || []).splice(0).forEach(function (done) { done(map); });
    });
  };

  /* uPlot (script and style) is loaded on the first click, not with the page: the summary is usable
     before 50 KB of chart library is parsed. */
  var uplotLoading = null;
  function getUplot() {
    if (window.uPlot) { return Promise.resolve(window.uPlot); }
    if (!uplotLoading) {
      uplotLoading = new Promise(function (resolve) {
        var style = document.createElement("link");
        style.rel = "stylesheet"; style.href = config.data + "/uplot.min.css";
        document.head.appendChild(style);
        var script = document.createElement("script");
        script.src = config.data + "/uplot.iife.min.js";
        script.onload = function () { resolve(window.uPlot); };
        script.onerror = function () { showError("could not load uplot.iife.min.js"); };
        document.head.appendChild(script);
      });
    }
    return uplotLoading;
  }

  function getIndex() {
    return new Promise(function (resolve) {
      if (index) { resolve(index); return; }
      indexWaiting.push(resolve);
      if (indexWaiting.length === 1) { loadScript("index.js"); }
    });
  }

  function getChunk(id) {
    return new Promise(function (resolve) {
      if (chunks[id]) { resolve(chunks[id]); return; }
      (waiting[id] = waiting[id] || []).push(resolve);
      if (waiting[id].length === 1) { loadScript("c" + String(id).padStart(4, "0") + ".js"); }
    });
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : (value >= 0 ? "+" : "") + (value * 100).toFixed(1) + "%";
  }

  /* A metric block: y = ints x 10^e (display unit u); x = delta-encoded record positions (absent: every
     record); f = segments [first point, count, log level, log slope]; s = noise sigma; c = change points. */
  function decodeSeries(block, commits) {
    var scale = Math.pow(10, block.e), n = block.y.length, x = [], y = [], fit = [], lo = [], hi = [];
    var position = 0;
    for (var i = 0; i < n; i++) {
      position = block.x ? position + block.x[i] : i;
      x.push(position);
      y.push(block.y[i] === null ? null : block.y[i] * scale);
      fit.push(null); lo.push(null); hi.push(null);
    }
    var spread = Math.exp(2 * block.s);
    block.f.forEach(function (segment) {
      for (var k = 0; k < segment[1]; k++) {
        var value = Math.exp(segment[2] + segment[3] * k), at = segment[0] + k;
        fit[at] = value; lo[at] = value / spread; hi[at] = value * spread;
      }
    });
    return [x, y, fit, hi, lo];
  }

  function axisLabel(position) {
    var i = Math.round(position);
    if (i !== position || i < 0 || i >= index.commits.length) { return ""; }
    return index.dates[i] + "\n" + index.commits[i].slice(0, 7);
  }

  function drawMarks(u, block) {
    var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height, ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = (10 * ratio) + "px system-ui, sans-serif";
    ctx.lineWidth = ratio;
    index.tags.forEach(function (tag) {
      var left = u.valToPos(tag[1], "x", true);
      if (left < u.bbox.left || left > u.bbox.left + u.bbox.width) { return; }
      ctx.strokeStyle = "#98a2b3"; ctx.setLineDash([2 * ratio, 3 * ratio]);
      ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, top + height); ctx.stroke();
      ctx.fillStyle = "#475467"; ctx.fillText(shown(tag[0]), left + 3 * ratio, top + 11 * ratio);
    });
    block.c.forEach(function (point) {
      var left = u.valToPos(point[0] - 0.5, "x", true);
      ctx.strokeStyle = "#d92d20"; ctx.setLineDash([5 * ratio, 3 * ratio]);
      ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, top + height); ctx.stroke();
      ctx.fillStyle = "#b42318"; ctx.fillText(percent(point[1]), left + 3 * ratio, top + height - 4 * ratio);
    });
    ctx.restore();
    /* When the panel's charts were last painted (performance.now()): benchmarks/trend_browser_timing.py reads it. */
    document.getElementById("chart-panel").setAttribute("data-drawn-ms", performance.now().toFixed(1));
  }

  function chart(container, metric, block, width) {
    var data = decodeSeries(block, index.commits.length);
    var holder = document.createElement("div");
    holder.className = "chart";
    holder.setAttribute("data-metric", metric);
    container.appendChild(holder);
    var options = {
      title: LABELS[metric] + " (" + block.u + ") · noise ±" + (block.s * 100).toFixed(1) + "% · " +
             block.c.length + " change point" + (block.c.length === 1 ? "" : "s"),
      width: width, height: 260,
      scales: { x: { time: false } },
      series: [
        { label: "commit", value: function (u, v) {
            if (v === null || v === undefined) { return "–"; }
            return shown(index.commits[v].slice(0, 10) + " · " + index.dates[v] + " · " + index.messages[v] +
              (index.authors && index.authors[v] ? " · " + index.authors[v] : ""));
          } },
        { label: LABELS[metric], stroke: COLORS[metric], width: 1.5, points: { size: 4 },
          value: function (u, v) { return v === null || v === undefined ? "–" : v.toPrecision(4) + " " + block.u; } },
        { label: "fit", stroke: "#344054", width: 1, dash: [4, 2], points: { show: false } },
        { label: "+2σ", stroke: "rgba(0,0,0,0)", points: { show: false }, show: true },
        { label: "−2σ", stroke: "rgba(0,0,0,0)", points: { show: false }, show: true }
      ],
      bands: [{ series: [3, 4], fill: "rgba(52,64,84,0.10)" }],
      axes: [
        { values: function (u, splits) { return splits.map(axisLabel); }, size: 48, space: 90 },
        { label: block.u, size: 70 }
      ],
      hooks: { draw: [function (u) { drawMarks(u, block); }] }
    };
    var plot = new uPlot(options, data, holder);
    if (config.commitUrl) {
      plot.over.addEventListener("click", function () {
        var i = plot.cursor.idx;
        if (i === null || i === undefined) { return; }
        var commit = index.commits[data[0][i]];
        window.open(config.commitUrl.split("{commit}").join(encodeURIComponent(commit)), "_blank", "noopener");
      });
    }
    plots.push(plot);
  }

  function draw(name, blocks) {
    var panel = document.getElementById("chart-panel"), container = document.getElementById("charts");
    plots.splice(0).forEach(function (plot) { plot.destroy(); });
    container.textContent = "";
    panel.hidden = false;
    document.getElementById("chart-title").textContent = shown(name);
    var row = byName[name];
    document.getElementById("chart-facts").textContent = row[2] + (row[3] !== null ? " " + percent(row[3]) +
      " (" + row[4] + ")" : "") + " · noise ±" + ((row[5] || 0) * 100).toFixed(1) + "% · latest " + row[6];
    var width = Math.max(Math.min(container.clientWidth || 900, 1400), 320);
    var drawn = 0;
    METRICS.forEach(function (metric) {
      if (blocks[metric]) { chart(container, metric, blocks[metric], width); drawn++; }
    });
    panel.setAttribute("data-drawn", name);
    panel.setAttribute("data-charts", String(drawn));
  }

  function clearPanel() {
    plots.splice(0).forEach(function (plot) { plot.destroy(); });
    document.getElementById("charts").textContent = "";
    document.getElementById("chart-title").textContent = "";
    document.getElementById("chart-panel").removeAttribute("data-drawn");
  }

  function open(name, scroll) {
    wanted = name;
    getIndex().then(function () {
      var row = byName[name];
      if (!row) {
        clearPanel();
        document.getElementById("chart-panel").hidden = false;
        showError("no benchmark named " + shown(name));
        return null;
      }
      return Promise.all([getChunk(row[1]), getUplot()]).then(function (loaded) {
        if (wanted !== name) { return; }
        draw(name, loaded[0][name]);
        if (scroll) { document.getElementById("chart-panel").scrollIntoView(); }
      });
    });
  }
  BW.open = open;

  /* A link names its benchmark by its row in the index (data-id): never by displayed text. */
  function openRow(id, scroll) {
    getIndex().then(function (doc) {
      var row = doc.benchmarks[Number(id)];
      if (!row) { showError("no benchmark at row " + id); return; }
      history.replaceState(null, "", "#b=" + encodeURIComponent(row[0]));
      open(row[0], scroll);
    });
  }
  BW.openRow = openRow;
  /* The raw name of an index row (for benchmarks/trend_browser_timing.py), null before the index is in. */
  BW.name = function (id) { return index && index.benchmarks[Number(id)] ? index.benchmarks[Number(id)][0] : null; };

  function benchmarkLink(id, name) {
    var link = document.createElement("a");
    link.href = "#b"; link.className = "open"; link.setAttribute("data-id", String(id));
    link.textContent = shown(name);
    return link;
  }

  /* "show all N series" of a commit: its full list is in the index (the page lists the largest). */
  function showAllSeries(button) {
    var position = Number(button.getAttribute("data-position"));
    getIndex().then(function (doc) {
      var group = null;
      doc.groups.forEach(function (item) { if (item[0] === position) { group = item; } });
      if (!group) { return; }
      var table = button.closest("details").querySelector("table");
      var body = table.querySelector("tbody");
      table.hidden = false;
      body.textContent = "";
      group[1].forEach(function (entry) {
        var tr = document.createElement("tr"), row = doc.benchmarks[entry[0]];
        cell(tr, "", "name").appendChild(benchmarkLink(entry[0], row[0]));
        cell(tr, entry[1]);
        cell(tr, "", "num"); cell(tr, "", "num");
        cell(tr, percent(entry[2]), "num " + (entry[2] > 0 ? "up" : "down"));
        body.appendChild(tr);
      });
      button.parentNode.removeChild(button);
    });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function search() {
    var query = document.getElementById("bw-query").value.toLowerCase();
    var status = document.getElementById("bw-filter").value;
    getIndex().then(function (doc) {
      var body = document.getElementById("bw-results"), found = 0;
      body.textContent = "";
      doc.benchmarks.forEach(function (row, id) {
        if ((status && row[2] !== status) || (query && row[0].toLowerCase().indexOf(query) < 0)) { return; }
        found++;
        if (found > MAX_RESULTS) { return; }
        var tr = document.createElement("tr");
        cell(tr, row[2], "status " + row[2]);
        cell(tr, "", "name").appendChild(benchmarkLink(id, row[0]));
        cell(tr, percent(row[3]), "num " + (row[3] > 0 ? "up" : row[3] < 0 ? "down" : ""));
        cell(tr, row[4] || "");
        cell(tr, row[5] === null ? "–" : "±" + (row[5] * 100).toFixed(1) + "%", "num");
        cell(tr, row[6], "num");
        body.appendChild(tr);
      });
      document.getElementById("bw-count").textContent = found + " match" + (found === 1 ? "" : "es") +
        (found > MAX_RESULTS ? " (first " + MAX_RESULTS + " shown)" : "");
      document.getElementById("search").setAttribute("data-results", String(Math.min(found, MAX_RESULTS)));
    });
  }

  document.addEventListener("click", function (event) {
    var all = event.target.closest ? event.target.closest("button.all-series") : null;
    if (all) { showAllSeries(all); return; }
    var link = event.target.closest ? event.target.closest("a.open") : null;
    if (!link) { return; }
    event.preventDefault();
    openRow(link.getAttribute("data-id"), true);
  });
  var timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(search, 120); }
  document.getElementById("bw-query").addEventListener("input", later);
  document.getElementById("bw-filter").addEventListener("change", search);
  if (location.hash.indexOf("#b=") === 0) { open(decodeURIComponent(location.hash.slice(3)), true); }
  if (location.hash.indexOf("#q=") === 0) {
    document.getElementById("bw-query").value = decodeURIComponent(location.hash.slice(3));
    search();
  }
  document.body.setAttribute("data-ready", "1");
  document.body.setAttribute("data-ready-ms", performance.now().toFixed(1));
  /* Once the summary is up and the browser idle, fetch the chart library for the first click. */
  (window.requestIdleCallback || function (run) { setTimeout(run, 200); })(function () { getUplot(); });
})();
