"""The HTML report's charts in a real headless Chromium (Debian's chromium and chromium-driver, driven
by selenium), served over HTTP on 127.0.0.1: plotly draws every chart where scripts may run; under
Jenkins' Content-Security-Policy no script runs, the page is still styled by report.css and every
chart's static SVG twin shows. Hostile class names stay inert in both."""

from __future__ import annotations

import csv
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.builders import write_suite

pytestmark = pytest.mark.integration
webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if CHROMIUM is None or DRIVER is None:
    pytest.skip("chromium and chromium-driver are not installed (make browser installs them)", allow_module_level=True)

JENKINS_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'self';"
HOSTILE = '<img src=x onerror="window.pwned=1">fraud'
FIGURES = 5  # ROC, precision-recall, score distribution, calibration, confusion matrix


class _Handler(http.server.SimpleHTTPRequestHandler):
    csp: str | None = None

    def end_headers(self) -> None:
        if self.csp:
            self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose two classes are hostile HTML, with scores: every classifier chart applies."""
    folder = tmp_path_factory.mktemp("charts")
    rng = np.random.default_rng(5)
    truth = rng.random(400) < 0.3
    score = np.clip(np.where(truth, rng.beta(5, 2, 400), rng.beta(2, 5, 400)), 0, 1).round(4)
    labels = np.where(truth, HOSTILE, "legit")
    with (folder / "data.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["row_id", "x", "y"], *([f"r{i}", i, label] for i, label in enumerate(labels))])
    with (folder / "out.csv").open("w", newline="") as handle:
        answers = np.where(score > 0.5, HOSTILE, "legit")
        csv.writer(handle).writerows(
            [["row_id", "answer", "p"], *([f"r{i}", a, s] for i, (a, s) in enumerate(zip(answers, score)))]
        )
    positive = HOSTILE.replace('"', '\\"')
    write_suite(folder, "accuracy: {min: 0.5}\nauc: {min: 0.5}",
                target="{kind: file, path: out.csv, label: answer, score: p}",
                dataset="{path: data.csv, id: row_id, expected: y, inputs: [x], positive_label: "
                        f'"{positive}"}}')  # fmt: skip
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports"]  # fmt: skip
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    return folder / "reports"


def _serve(directory: Path, csp: str | None) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    handler = type("Handler", (_Handler,), {"csp": csp})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1400,1900"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: Any, reports: Path, csp: str | None, figures: int = FIGURES) -> list[dict[str, Any]]:
    server, thread = _serve(reports, csp)
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/report.html")
        browser.implicitly_wait(0)
        for _ in range(100):  # plotly draws asynchronously; under the CSP nothing will come
            done = browser.execute_script("return document.querySelectorAll('figure[data-rendered]').length")
            if done == figures or csp:
                break
            browser.execute_script("return new Promise(r => setTimeout(r, 100))")
        return [entry for entry in browser.get_log("browser") if "favicon.ico" not in entry["message"]]
    finally:
        server.shutdown()
        thread.join(5)


def test_plotly_draws_every_chart_where_scripts_run(browser: Any, reports: Path, tmp_path: Path) -> None:
    log = _open(browser, reports, None)
    assert [entry for entry in log if entry["level"] == "SEVERE"] == []  # the console shows no error
    state = browser.execute_script("""return {
        figures: document.querySelectorAll('figure.figure').length,
        drawn: document.querySelectorAll('figure[data-rendered=plotly] .main-svg').length > 0,
        rendered: document.querySelectorAll('figure[data-rendered=plotly]').length,
        hidden: [...document.querySelectorAll('figure.figure .fallback')].every(f => f.offsetHeight === 0),
        pwned: window.pwned === 1, images: document.querySelectorAll('img').length}""")
    assert state == {
        "figures": FIGURES,
        "drawn": True,
        "rendered": FIGURES,
        "hidden": True,
        "pwned": False,
        "images": 0,
    }
    ticks = browser.execute_script("return [...document.querySelectorAll('#figure-s1-confusion .xtick text')]"
                                   ".map(t => t.textContent)")  # fmt: skip
    assert HOSTILE in ticks  # the class name is shown as text, not parsed as markup
    browser.save_screenshot(str(tmp_path / "plotly.png"))
    assert (tmp_path / "plotly.png").stat().st_size > 50_000


def test_under_jenkins_csp_the_report_is_styled_and_the_svg_charts_show(
    browser: Any, reports: Path, tmp_path: Path
) -> None:
    log = _open(browser, reports, JENKINS_CSP)
    assert any("Blocked script execution" in entry["message"] for entry in log)  # the policy was in force
    state = browser.execute_script("""
        const status = getComputedStyle(document.getElementById('run-status'));
        return {plotly: typeof window.Plotly, rendered: document.querySelectorAll('figure[data-rendered]').length,
                background: status.backgroundColor, font: getComputedStyle(document.body).fontFamily,
                fallbacks: [...document.querySelectorAll('figure.figure .fallback svg')]
                    .filter(s => s.getBoundingClientRect().height > 100).length,
                plots: [...document.querySelectorAll('figure.figure .plot')].filter(p => p.offsetHeight > 0).length,
                pwned: window.pwned === 1, images: document.querySelectorAll('img').length}""")
    assert state["plotly"] == "undefined" and state["rendered"] == 0  # no script ran
    assert state["background"] == "rgb(220, 245, 227)" and "system-ui" in state["font"]  # report.css applied
    assert (state["fallbacks"], state["plots"], state["pwned"], state["images"]) == (FIGURES, 0, False, 0)
    labels = browser.execute_script("return [...document.querySelectorAll('#figure-s1-confusion svg text')]"
                                    ".map(t => t.textContent)")  # fmt: skip
    assert any(label.startswith(HOSTILE) for label in labels)  # as text: the tooltip whole, the tick cut short
    browser.save_screenshot(str(tmp_path / "csp.png"))
    assert (tmp_path / "csp.png").stat().st_size > 50_000


def test_the_report_folder_is_self_contained(reports: Path) -> None:
    html = (reports / "report.html").read_text()
    assert {"report.css", "report.js", "plotly.min.js"} <= {path.name for path in reports.iterdir()}
    assert "http://" not in html.split("<body>")[0] and "https://cdn" not in html  # no CDN, nothing remote
    assert html.count('<script src="plotly.min.js">') == 1 and 'style="' not in html


QUALITY_FIGURES = 1 + 3 + 3 + 1  # PSI per column, 3 columns' distributions, 3 DTW alignments, BERTScore


@pytest.fixture(scope="module")
def quality_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report with a drift gate (a hostile column name and category), a failed DTW gate (hostile row ids,
    forecasts in its worst rows) and a BERTScore gate, their details computed by the metrics themselves
    (BERTScore's histogram from scores drawn here: no model needed)."""
    from evalharness.metrics.base import MetricSettings
    from evalharness.metrics.bertscore import score_histogram
    from evalharness.metrics.drift import DRIFT, DriftOptions
    from evalharness.metrics.dtw import DTW, DtwOptions
    from evalharness.predictions import Predictions
    from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise
    from evalharness.report import write_reports

    folder, rng = tmp_path_factory.mktemp("quality"), np.random.default_rng(9)

    def sample(rows: int, shift: float, categories: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"amount": rng.lognormal(4 + shift, 1, rows), HOSTILE: rng.choice(categories, rows),
                             "flag": rng.integers(0, 2, rows)})  # fmt: skip

    sample(2000, 0, ["a", HOSTILE]).to_csv(folder / "reference.csv", index=False)
    current = sample(1000, 0.5, ["a", HOSTILE, "new"])
    inputs = Predictions(np.arange(1000), np.zeros(1000), np.zeros(1000), None, current)
    drift = DRIFT.compute(inputs, DriftOptions(reference="reference.csv"), MetricSettings(base_dir=folder))
    t, ids = np.linspace(0, 6, 24), np.array([f"{HOSTILE}{row}" for row in range(10)], dtype=object)
    truth = np.empty(10, dtype=object)
    truth[:] = [np.sin(t) * 5] * 10
    answers = np.stack([np.roll(np.sin(t) * 5, row % 3) + rng.normal(0, 0.3, 24) for row in range(10)])
    forecasts = Predictions(ids, truth, answers, None, pd.DataFrame(index=range(10)))
    dtw = DTW.compute(forecasts, DtwOptions(window=2), MetricSettings(resamples=50))
    histogram = {"score": "f1", "model": "m", "histogram": score_histogram(rng.beta(9, 1.5, 300), 0.85)}
    gates = [GateRecord(name="drift", nodeid="s::drift", metric="drift", status="passed", value=drift.value, max=5,
                        details=drift.details),
             GateRecord(name="dtw", nodeid="s::dtw", metric="dtw", status="failed", value=dtw.value, min=0.99,
                        details=dtw.details, worst_rows=forecasts.worst(dtw.row_loss, 3, dtw.row_scores)),
             GateRecord(name="bertscore", nodeid="s::bertscore", metric="bertscore", status="passed", value=0.9, n=300,
                        min=0.85, details=histogram)]  # fmt: skip
    suite = SuiteRecord(name="quality", path="s.yaml", sha256="0" * 64, gates=gates, target={"kind": "file"})
    summary, status = summarise([suite])
    record = RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t", duration_s=1.0,
                       summary=summary, suites=[suite])  # fmt: skip
    write_reports(record, folder / "reports")
    return folder / "reports"


_QUALITY_STATE = """return {
    figures: document.querySelectorAll('figure.figure').length,
    rendered: document.querySelectorAll('figure[data-rendered=plotly] .main-svg').length > 0
        ? document.querySelectorAll('figure[data-rendered=plotly]').length : 0,
    fallbacks: [...document.querySelectorAll('figure.figure .fallback svg')]
        .filter(s => s.getBoundingClientRect().height > 100).length,
    sparklines: [...document.querySelectorAll('table.worst svg.sparkline polyline')]
        .filter(p => p.getBoundingClientRect().width > 50).length,
    numbers: document.querySelectorAll('table.worst details.numbers').length,
    pwned: window.pwned === 1, images: document.querySelectorAll('img').length}"""


def test_plotly_draws_the_drift_dtw_and_bertscore_charts(browser: Any, quality_reports: Path) -> None:
    log = _open(browser, quality_reports, None, QUALITY_FIGURES)
    assert [entry for entry in log if entry["level"] == "SEVERE"] == []
    state = browser.execute_script(_QUALITY_STATE)
    assert state == {"figures": QUALITY_FIGURES, "rendered": QUALITY_FIGURES, "fallbacks": 0, "sparklines": 6,
                     "numbers": 3, "pwned": False, "images": 0}  # fmt: skip
    ticks = browser.execute_script("return [...document.querySelectorAll('figure[id^=figure-s1-drift-dist] "
                                   ".xtick text')].map(t => t.textContent)")  # fmt: skip
    assert HOSTILE in ticks  # a category named like markup is drawn as its text
    warp = browser.execute_script("return document.querySelectorAll('#figure-s1-dtw-aligned-1 .scatterlayer .trace')"
                                  ".length")  # fmt: skip
    assert warp == 3  # the warping path, expected, predicted


def test_under_jenkins_csp_the_quality_charts_show_as_svg(browser: Any, quality_reports: Path) -> None:
    log = _open(browser, quality_reports, JENKINS_CSP)
    assert any("Blocked script execution" in entry["message"] for entry in log)
    state = browser.execute_script(_QUALITY_STATE)
    assert state == {"figures": QUALITY_FIGURES, "rendered": 0, "fallbacks": QUALITY_FIGURES, "sparklines": 6,
                     "numbers": 3, "pwned": False, "images": 0}  # fmt: skip
    warp = browser.execute_script("return document.querySelector('#figure-s1-dtw-aligned-1 path.warp')"
                                  ".getBoundingClientRect().height")  # fmt: skip
    assert warp > 50  # the grey segments of the warping path are drawn
    labels = browser.execute_script("return [...document.querySelectorAll('figure[id^=figure-s1-drift-dist] svg text')]"
                                    ".map(t => t.textContent)")  # fmt: skip
    assert any(label.startswith(HOSTILE) for label in labels)
