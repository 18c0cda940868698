// Draw the ECharts charts described by data attributes; no inline scripts in the pages.
// Every text from the data (names, ids, statuses) is escaped before ECharts puts it in an HTML
// tooltip: a formatter's return value is HTML, never plain text.
(function () {
  "use strict";
  var COLORS = { delivered: "#1a7f37", on_track: "#1a7f37", at_risk: "#b7791f", late: "#c53030" };
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return ENTITIES[c];
    });
  }

  function planChart(el, s) {
    var band = s.lo.map(function (lo, i) { return lo === null || s.hi[i] === null ? null : s.hi[i] - lo; });
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["plan", "actual", "forecast", "amber line", "red line"] },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: s.dates },
      yAxis: { type: "value", scale: true },
      series: [
        { name: "forecast low", type: "line", data: s.lo, stack: "band", lineStyle: { opacity: 0 }, symbol: "none" },
        { name: "forecast band", type: "line", data: band, stack: "band", lineStyle: { opacity: 0 },
          areaStyle: { color: "rgba(43,108,176,0.15)" }, symbol: "none" },
        { name: "plan", type: "line", data: s.plan, lineStyle: { type: "dashed", color: "#4a5568" }, itemStyle: { color: "#4a5568" }, symbol: "none" },
        { name: "amber line", type: "line", data: s.amber, lineStyle: { color: "#b7791f", width: 1 }, itemStyle: { color: "#b7791f" }, symbol: "none" },
        { name: "red line", type: "line", data: s.red, lineStyle: { color: "#c53030", width: 1 }, itemStyle: { color: "#c53030" }, symbol: "none" },
        { name: "actual", type: "line", data: s.actual, lineStyle: { width: 3, color: "#2b6cb0" }, itemStyle: { color: "#2b6cb0" } },
        { name: "forecast", type: "line", data: s.forecast, lineStyle: { type: "dotted", color: "#2b6cb0" }, itemStyle: { color: "#2b6cb0" } }
      ]
    };
  }

  function graphChart(el, g) {
    return {
      animation: false,
      tooltip: { formatter: function (p) { return escapeHtml(p.dataType === "edge" ? p.data.edgeText : p.name); } },
      series: [{
        type: "graph", layout: "circular", roam: true, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 10,
        label: { show: true }, symbolSize: 46,
        data: g.nodes.map(function (n) { return { id: n.id, name: n.name, itemStyle: { color: n.involved ? "#2b6cb0" : "#a0aec0" } }; }),
        links: g.edges.map(function (e) {
          var text = e.id + " " + String(e.status).replace("_", " ");
          // Labels are drawn on the canvas; a function keeps "{…}" in an id from reading as a template.
          return { source: e.source, target: e.target, value: e.id, edgeText: text,
                   lineStyle: { color: COLORS[e.status] || "#718096", width: 3, curveness: 0.2 },
                   label: { show: true, formatter: function () { return text; } } };
        })
      }]
    };
  }

  function draw(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn || typeof echarts === "undefined") { return; }
      var data = JSON.parse(el.dataset.series);
      var option = el.dataset.chart === "graph" ? graphChart(el, data) : planChart(el, data);
      echarts.init(el, null, { renderer: "canvas" }).setOption(option);
      el.dataset.drawn = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // "Go back" links: a handler here rather than a javascript: URL, which the CSP forbids.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("[data-back]");
    if (link && window.history.length > 1) { evt.preventDefault(); window.history.back(); }
  });
  document.addEventListener("htmx:afterSwap", function (evt) { draw(evt.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
})();
