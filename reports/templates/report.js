// evalharness report: draw each figure's plotly data where scripts may run (not under Jenkins' CSP,
// where the static SVG twin stays). Reads only the page's own inert JSON blocks; builds no HTML.
(function () {
  "use strict";
  if (typeof window.Plotly === "undefined") {
    return; // plotly.min.js is missing (evalharness installed without plotly): the SVG charts remain
  }
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };
  document.querySelectorAll("figure.figure[data-figure]").forEach(function (figure) {
    var block = document.getElementById(figure.getAttribute("data-figure"));
    if (!block) {
      return;
    }
    var spec = JSON.parse(block.textContent);
    var plot = figure.querySelector(".plot");
    figure.classList.add("interactive");
    window.Plotly.newPlot(plot, spec.data, spec.layout, config).then(function () {
      plot.setAttribute("aria-hidden", "false");
      figure.setAttribute("data-rendered", "plotly");
    });
  });
})();
