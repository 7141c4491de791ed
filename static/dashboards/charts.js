// Draws every dashboard chart on the page with the vendored Chart.js. Each
// <figure class="dash-chart" data-chart="ID"> has its numbers in <script id="ID"
// type="application/json"> (Django's json_script): {kind, labels, series, yFormat, xTitle,
// stacked}. The same numbers are in the figure's table, and in its CSV link.
(function () {
  "use strict";
  var PALETTE = ["#417690", "#e08a2c", "#3a9d5d", "#c0392b", "#8e6cbf", "#7f8c8d", "#d4a017", "#1abc9c"];

  function formatter(yFormat) {
    if (yFormat === "percent") return function (v) { return (v * 100).toFixed(1) + "%"; };
    if (yFormat === "decimal") return function (v) { return Number(v).toFixed(4); };
    return function (v) { return Number(v).toLocaleString(); };
  }

  function draw(figure) {
    var data = document.getElementById(figure.dataset.chart);
    if (!data || typeof Chart === "undefined") return;
    var spec = JSON.parse(data.textContent);
    var canvas = figure.querySelector("canvas");
    if (canvas.chart) canvas.chart.destroy();
    var format = formatter(spec.yFormat);
    canvas.chart = new Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          var color = PALETTE[i % PALETTE.length];
          return { label: s.name, data: s.values, borderColor: color, backgroundColor: spec.kind === "bar" ? color : color + "33",
                   spanGaps: false, tension: 0.2, pointRadius: spec.labels.length > 60 ? 0 : 2 };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: spec.series.length > 1 },
                   tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + (c.raw === null ? "n/a" : format(c.raw)); } } } },
        scales: {
          x: { stacked: spec.stacked, title: { display: !!spec.xTitle, text: spec.xTitle } },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { callback: format } }
        }
      }
    });
  }

  window.dashboardCharts = { draw: draw, drawAll: function () {
    document.querySelectorAll("figure.dash-chart[data-chart]").forEach(draw);
  } };
  document.addEventListener("DOMContentLoaded", window.dashboardCharts.drawAll);
})();
