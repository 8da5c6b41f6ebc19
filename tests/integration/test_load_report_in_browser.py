"""The load section of the HTML report after a real Locust run (against tests/ping_server.py on
127.0.0.1, stalling 150 ms every second), opened in headless Chromium: plotly draws every load chart
where scripts run, their SVG twins show under Jenkins' CSP, and all time charts share one axis."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_report_charts_in_browser import JENKINS_CSP, _serve, browser  # noqa: F401
from tests.servers import ping_server_process

pytestmark = pytest.mark.integration
if not importlib.util.find_spec("locust") or not importlib.util.find_spec("hdrh"):
    pytest.skip("locust is not installed (pip install 'evalharness[load]')", allow_module_level=True)

LOAD = """
  model: open
  rate: 100
  arrival: constant
  duration_s: 3
  warmup_s: 1
  gates: {p99_ms: {max: 1000}}
"""
CHARTS = 6  # heatmap, percentiles over time, HDR curve, throughput, CPU, memory (no GPU, no error here)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of a suite whose only gate is a load gate, after a real Locust run."""
    from tests.integration.test_load import PING, load_suite_file

    folder = tmp_path_factory.mktemp("load-report")
    with ping_server_process("--stall-ms", "150", "--stall-every-s", "1") as url:
        load_suite_file(folder, PING % url, LOAD)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
                   "--evalharness-report-dir=reports"]  # fmt: skip
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:]
    return folder / "reports"


def _load(driver: Any, reports: Path, csp: str | None) -> None:
    server, thread = _serve(reports, csp)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/report.html")
        for _ in range(100):  # plotly draws asynchronously; under the CSP nothing will come
            done = driver.execute_script("return document.querySelectorAll('figure[data-rendered]').length")
            if csp or done >= CHARTS:
                break
            driver.execute_script("return new Promise(r => setTimeout(r, 100))")
    finally:
        server.shutdown()
        thread.join(5)


LOAD_FIGURES = "[...document.querySelectorAll('figure.figure')].filter(f => f.id.includes('-load-'))"


def test_plotly_draws_every_load_chart_on_one_time_axis(browser: Any, reports: Path, tmp_path: Path) -> None:  # noqa: F811
    _load(browser, reports, None)
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert [entry for entry in severe if "favicon.ico" not in entry["message"]] == []
    state = browser.execute_script(f"""const figures = {LOAD_FIGURES};
        return {{ids: figures.map(f => f.id.replace('figure-s1-load-', '')),
                 rendered: figures.filter(f => f.dataset.rendered === 'plotly').length,
                 ranges: figures.filter(f => !f.id.endsWith('hdr'))
                     .map(f => f.querySelector('.plot').layout.xaxis.range.join(',')),
                 heatmapCells: figures[0].querySelector('.plot').data[0].z.flat().filter(v => v).length}}""")
    assert state["ids"] == ["heatmap", "percentiles", "hdr", "throughput", "cpu", "memory"]
    assert state["rendered"] == CHARTS
    assert set(state["ranges"]) == {"0,4"}  # warm-up 1 s + 3 s measured, the same on every time chart
    assert state["heatmapCells"] >= 6  # fast answers and stalled ones, in each of 3+ seconds
    browser.save_screenshot(str(tmp_path / "load-plotly.png"))


def test_under_jenkins_csp_the_load_charts_fall_back_to_svg(browser: Any, reports: Path, tmp_path: Path) -> None:  # noqa: F811
    _load(browser, reports, JENKINS_CSP)
    state = browser.execute_script(f"""const figures = {LOAD_FIGURES};
        return {{rendered: document.querySelectorAll('figure[data-rendered]').length,
                 shown: figures.filter(f => f.querySelector('.fallback svg').getBoundingClientRect().height > 100)
                     .length,
                 bands: figures.filter(f => f.querySelector('.fallback rect.band')).length,
                 bandColour: getComputedStyle(figures[0].querySelector('rect.band')).fill}}""")
    assert state["rendered"] == 0 and state["shown"] == CHARTS
    assert state["bands"] == CHARTS - 1  # the warm-up shaded on every time chart (not the HDR curve)
    assert state["bandColour"] == "rgb(232, 237, 245)"  # report.css applies under the CSP
    browser.save_screenshot(str(tmp_path / "load-csp.png"))
