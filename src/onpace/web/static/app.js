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

  // Numbers in tooltips and axes: thousands separated, at most two decimals, with the unit.
  function formatter(unit) {
    var number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 2 });
    return function (value) {
      if (value === null || value === undefined || isNaN(value)) { return "–"; }
      var text = number.format(value);
      if (unit === "%") { return text + " %"; }
      if (unit === "" || unit === "count") { return text; }
      // A currency (EUR, or a sign) goes before the number, any other unit (days) after it.
      return /^[A-Z]{3}$|^[€$£]$/.test(unit) ? unit + " " + text : text + " " + unit;
    };
  }

  // Plan, actual, tolerance lines and the forecast band on a time axis. The bucket that holds
  // the as-of date is unfinished: its actual is drawn at the as-of date, against the plan line
  // there (the plan between two bucket ends is read off the line), never against the full
  // bucket's plan. The forecast runs from the last actual to the cycle's end inside its band.
  function planChart(el, s) {
    var asOf = s.as_of;
    var at = s.dates.map(function (d) { return d > asOf ? asOf : d; });
    function pairs(values, dates) {
      return values.map(function (v, i) { return [dates[i], v]; }).filter(function (p) { return p[1] !== null; });
    }
    var actual = pairs(s.actual, at);
    var last = actual.length ? actual[actual.length - 1] : null;
    var forecast = [], low = [], width = [];
    s.forecast.forEach(function (f, i) {
      if (f === null || s.lo[i] === null || s.hi[i] === null) { return; }
      forecast.push([s.dates[i], f]);
      low.push([s.dates[i], s.lo[i]]);
      width.push([s.dates[i], s.hi[i] - s.lo[i]]);
    });
    if (last && forecast.length) {
      forecast.unshift(last);
      low.unshift([last[0], last[1]]);
      width.unshift([last[0], 0]);
    }
    var fmt = formatter(el.dataset.unit || "");
    var marks = (s.markers || []).map(function (m) {
      return { xAxis: m.date, name: m.label, label: { formatter: m.kind, position: "insideEndTop", fontSize: 10 },
               lineStyle: { color: m.kind === "case" ? "#c53030" : m.kind === "re-baseline" ? "#6b46c1" : "#4a5568", type: "dotted" } };
    });
    var plainText = { trigger: "axis", valueFormatter: fmt, renderMode: "richText" };
    return {
      animation: false,
      aria: { enabled: true },
      tooltip: plainText,
      legend: { data: ["plan", "actual", "forecast", "amber line", "red line"], type: "scroll", top: 0 },
      grid: { left: 64, right: 24, top: 44, bottom: 30, containLabel: false },
      // A phone's chart has room for a few dates: fewer ticks, and none drawn over another.
      xAxis: { type: "time", max: s.dates[s.dates.length - 1], splitNumber: el.clientWidth < 520 ? 4 : 8,
               axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: fmt } },
      series: [
        { name: "forecast low", type: "line", data: low, stack: "band", lineStyle: { opacity: 0 }, symbol: "none", tooltip: { show: false } },
        { name: "forecast band", type: "line", data: width, stack: "band", lineStyle: { opacity: 0 },
          areaStyle: { color: "rgba(43,108,176,0.18)" }, symbol: "none", tooltip: { show: false } },
        { name: "plan", type: "line", data: pairs(s.plan, s.dates), lineStyle: { type: "dashed", color: "#4a5568" }, itemStyle: { color: "#4a5568" }, symbol: "none",
          markLine: marks.length ? { symbol: "none", silent: true, data: marks } : undefined },
        { name: "amber line", type: "line", data: pairs(s.amber, s.dates), lineStyle: { color: "#975a16", width: 1 }, itemStyle: { color: "#975a16" }, symbol: "none" },
        { name: "red line", type: "line", data: pairs(s.red, s.dates), lineStyle: { color: "#c53030", width: 1 }, itemStyle: { color: "#c53030" }, symbol: "none" },
        { name: "actual", type: "line", data: actual, lineStyle: { width: 3, color: "#2b6cb0" }, itemStyle: { color: "#2b6cb0" } },
        { name: "forecast", type: "line", data: forecast, lineStyle: { type: "dotted", width: 2, color: "#2b6cb0" }, itemStyle: { color: "#2b6cb0" }, symbol: "circle" }
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

  // On a phone the navigation folds behind a Menu button (without the script it stays open).
  function foldNavigation() {
    var button = document.querySelector(".menu-toggle");
    if (!button) { return; }
    document.documentElement.classList.add("js-nav");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      document.documentElement.classList.toggle("nav-open", open);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { foldNavigation(); draw(document); });
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
