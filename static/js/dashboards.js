// Draws the overview's charts (Chart.js, vendored) from the JSON the page carries; the same
// numbers are in a table under each chart, for screen readers and for printing.
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("charts-data");
    if (!node || typeof Chart === "undefined") return;
    var palette = ["#2e7d32", "#f9a825", "#ef6c00", "#c62828", "#1565c0", "#6a1b9a"];
    JSON.parse(node.textContent).forEach(function (chart) {
      var canvas = document.getElementById(chart.id);
      if (!canvas) return;
      new Chart(canvas, {
        type: chart.kind,
        data: {
          labels: chart.labels,
          datasets: chart.series.map(function (s, i) {
            return {
              label: s.name, data: s.values,
              backgroundColor: palette[i % palette.length],
              borderColor: palette[i % palette.length],
              fill: false, tension: 0.2
            };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: chart.stacked }, y: { stacked: chart.stacked, beginAtZero: true } }
        }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
