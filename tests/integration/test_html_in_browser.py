"""The HTML report opened in a real headless Chromium: the DOM holds the gates and no injected markup."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evalharness.report import write_reports
from tests.unit.test_reports import _record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make browser installs Debian's chromium)"),
]


def _ours(tag: str, attrs: dict[str, str | None]) -> bool:
    """The report's own scripts: its sibling plotly.min.js and report.js, and inert JSON data blocks."""
    own = attrs.get("src") in ("plotly.min.js", "report.js") or attrs.get("type") == "application/json"
    return tag == "script" and own


class _Elements(HTMLParser):
    """Counts elements and keeps the text of each gate row, as the browser serialised them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.gate_rows: list[str] = []
        self._in_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)  # a load chart's svg has role="img" and no class; plotly's and the twins differ
        static = tag == "svg" and (found.get("role") != "img" or "static-chart" in (found.get("class") or ""))
        twin = tag == "figure" and "figure" in (dict(attrs).get("class") or "").split()  # a plotly figure's frame
        self.tags.append("script:ours" if _ours(tag, dict(attrs)) else "svg:static" if static else
                         "figure:plotly" if twin else tag)  # fmt: skip
        if tag == "tr" and any(name == "data-gate" for name, _ in attrs):
            self._in_row = True
            self.gate_rows.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_row = self._in_row and tag != "tr"

    def handle_data(self, data: str) -> None:
        if self._in_row:
            self.gate_rows[-1] += data


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def test_report_renders_in_chromium_without_injected_markup(tmp_path: Path) -> None:
    html = write_reports(_record(), tmp_path / "reports")["html"]
    dom = _chromium("--dump-dom", html.as_uri(), profile=tmp_path / "profile").stdout
    elements = _Elements()
    elements.feed(dom)
    assert "script" not in elements.tags and "img" not in elements.tags
    assert len(elements.gate_rows) == 3
    assert "accuracy" in elements.gate_rows[0] and "failed" in elements.gate_rows[0]
    assert 'evil <script>alert("x")</script>' in dom.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    screenshot = tmp_path / "report.png"
    _chromium(f"--screenshot={screenshot}", "--window-size=1280,900", html.as_uri(), profile=tmp_path / "profile")
    assert screenshot.stat().st_size > 10_000


def test_load_charts_render_in_chromium_as_figures(tmp_path: Path) -> None:
    from tests.unit.test_load_figures import load_section

    record = _record()
    record.suites[0].load = load_section(gpus=1)
    html = write_reports(record, tmp_path / "reports")["html"]
    dom = _chromium("--dump-dom", html.as_uri(), profile=tmp_path / "profile").stdout
    elements = _Elements()
    elements.feed(dom)
    assert "script" not in elements.tags and "img" not in elements.tags
    # 10 load charts (heatmap, percentiles, HDR, throughput, errors, CPU, memory, 3 GPU) and the confusion matrix
    assert elements.tags.count("figure:plotly") == 11 and elements.tags.count("svg:static") >= 11
    screenshot = tmp_path / "load.png"
    _chromium(f"--screenshot={screenshot}", "--window-size=1280,2400", html.as_uri(), profile=tmp_path / "profile")
    assert screenshot.stat().st_size > 10_000


def test_baseline_comparison_renders_in_chromium_without_injected_markup(tmp_path: Path) -> None:
    from tests.unit.test_comparison_reports import HOSTILE, _tables
    from tests.unit.test_comparison_reports import _record as comparison_record

    html = write_reports(comparison_record(), tmp_path / "reports")["html"]
    dom = _chromium("--dump-dom", html.as_uri(), profile=tmp_path / "profile").stdout
    tables = _tables(dom)
    assert "script" not in tables.tags and "\x1b" not in dom
    assert [row[0] for row in tables.tables["delta-gates"][1:]] == ["accuracy", "f1", "precision"]
    flips = tables.tables["flips"][1:]
    assert [row[-1] for row in flips] == ["right → wrong", "right → wrong", "wrong → right"]
    assert flips[0][2] == "\\x3a" + HOSTILE[1:].replace("\n", "\\x0a").replace("\x1b", "\\x1b")
