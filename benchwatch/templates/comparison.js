(function () {
  "use strict";
  var errors = [];
  function report(message) {
    errors.push(String(message));
    var box = document.getElementById("js-errors");
    if (box) { box.hidden = false; box.textContent = errors.join("\n"); }
  }
  window.addEventListener("error", function (event) { report("error: " + (event.message || event)); });
  window.addEventListener("unhandledrejection", function (event) { report("rejection: " + event.reason); });
  try {
    var data = JSON.parse(document.getElementById("benchwatch-data").textContent);
    var status = document.getElementById("data-status");
    status.textContent = "data: " + data.benchmarks.length + " benchmarks, " + data.comparisons.length + " metric comparisons";
    document.body.setAttribute("data-benchmarks", String(data.benchmarks.length));
  } catch (err) { report("data: " + err); }
  // Mark each chart that the browser actually laid out with a drawn ECDF.
  var charts = document.querySelectorAll("figure.dist-chart");
  for (var i = 0; i < charts.length; i++) {
    var path = charts[i].querySelector("svg path.ecdf");
    var box = path ? path.getBoundingClientRect() : null;
    if (box && box.width > 0 && box.height > 0) charts[i].setAttribute("data-drawn", "1");
  }
  // A link to one benchmark (#b14) must show it: record whether the target was laid out in the window.
  function markTarget() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(id) : null;
    if (!target) { document.body.removeAttribute("data-target-visible"); return; }
    var rect = target.getBoundingClientRect();
    var seen = rect.height > 0 && rect.bottom > 0 && rect.top < window.innerHeight;
    document.body.setAttribute("data-target-visible", seen ? id : "no");
  }
  window.addEventListener("load", markTarget);  // the browser applies the fragment once the page is loaded
  window.addEventListener("hashchange", markTarget);
  var filter = document.getElementById("filter");
  var boxes = document.querySelectorAll("input.verdict-filter");
  function apply() {
    var text = (filter.value || "").toLowerCase();
    var allowed = {};
    for (var j = 0; j < boxes.length; j++) allowed[boxes[j].value] = boxes[j].checked;
    var rows = document.querySelectorAll("table.index tbody tr, article.benchmark");
    for (var k = 0; k < rows.length; k++) {
      var row = rows[k];
      var nameNode = row.querySelector("a, .name");
      var name = nameNode ? nameNode.textContent.toLowerCase() : "";
      var show = allowed[row.getAttribute("data-verdict")] !== false && name.indexOf(text) >= 0;
      row.classList.toggle("hidden-by-filter", !show);
    }
  }
  filter.addEventListener("input", apply);
  for (var b = 0; b < boxes.length; b++) boxes[b].addEventListener("change", apply);
  document.body.setAttribute("data-ready", "1");
})();
