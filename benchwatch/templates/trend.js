/* benchwatch trend report: draws a benchmark's charts when its section is opened or scrolled into view.
   All text from the data goes through textContent or esc() (plotly renders labels as pseudo-HTML). */
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("bw-meta").textContent);
  var COLORS = { p50: "#1f6feb", p95: "#d97706", p99: "#b42318", peak_memory: "#7c3aed" };
  var BANDS = { p50: "rgba(31,111,235,0.15)", p95: "rgba(217,119,6,0.15)", p99: "rgba(180,35,24,0.12)", peak_memory: "rgba(124,58,237,0.15)" };
  var LABELS = { p50: "p50", p95: "p95", p99: "p99", peak_memory: "peak memory" };
  var drawnCount = 0;

  function ensurePlotly() {
    if (window.Plotly) { return; }
    var source = document.getElementById("bw-plotly");
    var script = document.createElement("script");
    script.textContent = source.textContent;
    document.head.appendChild(script);  /* an inline script runs synchronously when inserted */
    source.textContent = "";
  }

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  /* x: delta-encoded record positions (the block's own or the benchmark's shared ones);
     lo/hi: per-mille offsets from y, or null when no interval was recorded. */
  function decode(block, sharedX) {
    var deltas = block.x || sharedX, x = [], y = block.y, lo = [], hi = [], position = 0;
    for (var i = 0; i < deltas.length; i++) {
      position += deltas[i];
      x.push(position);
      lo.push(!block.lo || block.lo[i] === null || y[i] === null ? null : y[i] * (1 - block.lo[i] / 1000));
      hi.push(!block.hi || block.hi[i] === null || y[i] === null ? null : y[i] * (1 + block.hi[i] / 1000));
    }
    return { x: x, y: y, lo: lo, hi: hi };
  }

  function pointText(index) {
    var text = esc(meta.commits[index].slice(0, 10)) + " · " + esc(meta.dates[index]);
    var message = meta.messages[index];
    if (message) { text += "<br>" + esc(message.split("\n")[0].slice(0, 80)); }
    return text;
  }

  function tagShapes() {
    var shapes = [], annotations = [];
    meta.tags.forEach(function (tag) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: tag[1], x1: tag[1], y0: 0, y1: 1,
                    line: { color: "#667085", width: 1, dash: "dot" } });
      annotations.push({ x: tag[1], y: 1, xref: "x", yref: "paper", text: esc(tag[0]), showarrow: false,
                         yanchor: "bottom", font: { size: 10, color: "#475467" } });
    });
    return { shapes: shapes, annotations: annotations };
  }

  function traces(data, metrics) {
    var out = [], cpX = [], cpY = [], cpText = [];
    metrics.forEach(function (metric) {
      var block = data.m[metric];
      if (!block) { return; }
      var series = decode(block, data.x);
      out.push({ x: series.x, y: series.hi, mode: "lines", line: { width: 0 }, hoverinfo: "skip",
                 showlegend: false, name: metric + " 95% high", type: "scatter" });
      out.push({ x: series.x, y: series.lo, mode: "lines", line: { width: 0 }, fill: "tonexty",
                 fillcolor: BANDS[metric], hoverinfo: "skip", showlegend: false, name: metric + " 95% low",
                 type: "scatter" });
      out.push({ x: series.x, y: series.y, mode: "lines+markers", name: LABELS[metric],
                 line: { color: COLORS[metric], width: 1.5 }, marker: { size: 4 }, type: "scatter",
                 customdata: series.x, text: series.x.map(pointText),
                 hovertemplate: "%{text}<br>%{y} " + esc(block.u) + "<extra>" + LABELS[metric] + "</extra>" });
      block.cp.forEach(function (point) {
        cpX.push(point[0]);
        cpY.push(point[1]);
        cpText.push(LABELS[metric] + " " + (point[2] >= 0 ? "+" : "") + (point[2] * 100).toFixed(1) + "% (p=" +
                    point[3] + ")<br>" + pointText(point[0]));
      });
    });
    if (cpX.length) {
      out.push({ x: cpX, y: cpY, mode: "markers", name: "change point", type: "scatter", customdata: cpX,
                 marker: { symbol: "x", size: 11, color: "#101828", line: { width: 1 } }, text: cpText,
                 hovertemplate: "%{text}<extra>change point</extra>" });
    }
    return out;
  }

  function unitOf(data, metrics) {
    for (var i = 0; i < metrics.length; i++) { if (data.m[metrics[i]]) { return data.m[metrics[i]].u; } }
    return "";
  }

  function chart(container, data, metrics, title) {
    var list = traces(data, metrics);
    if (!list.length) { return 0; }
    var div = document.createElement("div");
    div.className = "chart";
    container.appendChild(div);
    var marks = tagShapes();
    var layout = {
      title: { text: esc(title), font: { size: 13 }, x: 0, xanchor: "left" },
      margin: { l: 60, r: 16, t: 36, b: 40 },
      hovermode: "closest",
      xaxis: { title: { text: "commit (oldest → newest)" }, zeroline: false },
      yaxis: { title: { text: esc(unitOf(data, metrics)) }, zeroline: false, rangemode: "tozero" },
      legend: { orientation: "h", y: -0.22 },
      shapes: marks.shapes,
      annotations: marks.annotations
    };
    Plotly.newPlot(div, list, layout, { responsive: true, displaylogo: false });
    div.setAttribute("data-traces", String(list.length));
    if (meta.urls) {
      div.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (!point || point.customdata === undefined) { return; }
        var url = meta.urls[point.customdata];
        if (url && /^https?:\/\//.test(url)) { window.open(url, "_blank", "noopener"); }
      });
    }
    return list.length;
  }

  function draw(section) {
    if (section.getAttribute("data-drawn")) { return; }
    section.setAttribute("data-drawn", "1");
    var started = performance.now();
    ensurePlotly();
    var data = JSON.parse(document.getElementById("data-" + section.getAttribute("data-id")).textContent);
    var container = section.querySelector(".charts");
    var count = chart(container, data, ["p50", "p95", "p99"], "latency") +
                chart(container, data, ["peak_memory"], "peak memory");
    if (!count) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No p50/p95/p99 or memory values recorded for " + data.n + ".";
      container.appendChild(empty);
    }
    section.setAttribute("data-traces", String(count));
    section.setAttribute("data-draw-ms", String(Math.round(performance.now() - started)));
    drawnCount += 1;
    document.body.setAttribute("data-drawn-sections", String(drawnCount));
  }

  var sections = document.querySelectorAll("details.bench");
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting && entry.target.open) { draw(entry.target); } });
  }, { rootMargin: "300px" }) : null;
  Array.prototype.forEach.call(sections, function (section) {
    if (observer) { observer.observe(section); }
    section.addEventListener("toggle", function () { if (section.open) { draw(section); } });
  });

  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; draw(target); }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  // Open sections already on screen are drawn now, not on the first observer callback.
  Array.prototype.forEach.call(sections, function (section) {
    if (section.open && section.getBoundingClientRect().top < window.innerHeight + 300) { draw(section); }
  });
  if ("requestIdleCallback" in window) {
    window.requestIdleCallback(ensurePlotly, { timeout: 4000 });
  }
  document.body.setAttribute("data-ready", "1");
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
})();
