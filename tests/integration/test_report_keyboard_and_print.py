"""The HTML report used with the keyboard alone and printed, in headless Chromium (selenium): Tab
reaches the verdict's links, the contents and every folded cell; Enter follows a link and unfolds a
cell; focus is visible; printed, every chart shows its static SVG twin rather than a plotly canvas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalharness.report import write_reports
from tests.integration.test_report_charts_in_browser import _serve, browser  # noqa: F401
from tests.unit.test_reports import _record

pytestmark = pytest.mark.integration
keys = pytest.importorskip("selenium.webdriver.common.keys").Keys
LONG_ID = "row-" + "x" * 200


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A failed run whose worst row has a 204-character id (folded) and whose suite has charts."""
    from evalharness.record import GateRecord

    record = _record()
    record.suites[0].gates[0].worst_rows[0]["id"] = LONG_ID
    rule = {"name": "holds", "rule": "x < 1", "applicable": 10, "rate": 1.0, "violations": 0, "errors": 0}
    record.suites[0].gates.append(GateRecord(name="consistency", nodeid="s.yaml::consistency", metric="consistency",
                                             status="passed", value=1.0, details={"rules": [rule]}))  # fmt: skip
    write_reports(record, tmp_path / "reports")
    return tmp_path / "reports"


def _open(driver: Any, folder: Path) -> Any:
    server, thread = _serve(folder, None)
    driver.get(f"http://127.0.0.1:{server.server_address[1]}/report.html")
    for _ in range(50):
        if driver.execute_script("return document.querySelectorAll('figure[data-rendered]').length") >= 1:
            break
        driver.execute_script("return new Promise(r => setTimeout(r, 100))")
    return server, thread


def _tab_until(driver: Any, wanted: str, limit: int = 60) -> list[str]:
    """Press Tab until the focused element matches the CSS selector ``wanted``; what was focused on the way."""
    from selenium.webdriver.common.action_chains import ActionChains

    seen = []
    for _ in range(limit):
        ActionChains(driver).send_keys(keys.TAB).perform()
        seen.append(driver.execute_script("const e = document.activeElement; return e.tagName + ' ' + "
                                           "(e.getAttribute('href') || e.className || '')"))  # fmt: skip
        if driver.execute_script("return document.activeElement.matches(arguments[0])", wanted):
            return seen
    raise AssertionError(f"Tab never reached {wanted}; focused: {seen}")


def test_the_keyboard_reaches_the_verdict_contents_and_folded_cells(browser: Any, report: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    server, thread = _open(browser, report)
    try:
        seen = _tab_until(browser, "nav.toc a")
        assert any(item.startswith("A #gate-") for item in seen)  # the banner's links to the failed gates come first
        outline = browser.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"  # focus is visible (report.css :focus-visible)
        target = browser.execute_script("return document.activeElement.getAttribute('href')")
        ActionChains(browser).send_keys(keys.ENTER).perform()
        assert browser.execute_script("return location.hash") == target
        _tab_until(browser, "details.long summary")
        ActionChains(browser).send_keys(keys.ENTER).perform()
        state = browser.execute_script("const d = document.activeElement.closest('details'); const w = "
                                       "d.querySelector('.whole'); return {open: d.open, text: w.textContent, "
                                       "shown: w.getBoundingClientRect().height > 0}")  # fmt: skip
        assert state["open"] and state["shown"]  # focus stays on the summary, to fold back
        assert state["text"].startswith(LONG_ID[:150])  # whole, up to the suite's max_cell_chars
        ActionChains(browser).send_keys(keys.ENTER).perform()
        assert browser.execute_script("return document.activeElement.closest('details').open") is False
    finally:
        server.shutdown()
        thread.join(5)


def test_printed_the_charts_are_their_static_twins(browser: Any, report: Path) -> None:  # noqa: F811
    server, thread = _open(browser, report)
    try:
        assert browser.execute_script("return document.querySelectorAll('figure[data-rendered=plotly]').length") >= 1
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        state = browser.execute_script("""const figures = [...document.querySelectorAll('figure.figure')];
            return {figures: figures.length,
                    twins: figures.filter(f => f.querySelector('.fallback svg').getBoundingClientRect().height > 50)
                        .length,
                    plots: figures.filter(f => f.querySelector('.plot').offsetHeight > 0).length,
                    toc: document.querySelector('nav.toc').offsetHeight,
                    folded: document.querySelector('details.table').open,
                    rules: document.querySelector('table.rules').getBoundingClientRect().height}""")
        assert state["figures"] >= 1 and state["twins"] == state["figures"] and state["plots"] == 0
        assert state["toc"] == 0  # links are no use on paper
        assert state["folded"] is False and state["rules"] > 0  # a folded table (every rule holds) still prints
    finally:
        server.shutdown()
        thread.join(5)
