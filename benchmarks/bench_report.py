"""The HTML report at scale: its size and its Chromium render time, against plotly.js alone.

Workload: suites/finance.yaml on N rows resampled from its dataset (default 1,000,000), run as users
run it (``evalharness run``), so the report holds every chart its record supports. Measured in
headless Chromium (Debian's chromium and chromium-driver, through selenium), the page served over
HTTP on 127.0.0.1:

- the report: from navigation start until report.js has drawn every figure with plotly;
- the reference, in the same browser session: a page that only loads the same plotly.min.js and draws
  one empty plot, the least any plotly report costs.

Each side is loaded ``--repeats`` times, alternating; the ratio of each pair of loads is reported as
min, median and max. Usage:
``python benchmarks/bench_report.py [--rows N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from bench_overhead import scaled_frame  # noqa: E402
from timing import alternate  # noqa: E402

REFERENCE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div id="p"></div>
<script src="plotly.min.js"></script>
<script src="reference.js"></script></body></html>"""
REFERENCE_JS = """Plotly.newPlot("p", [{type: "scatter", x: [0, 1], y: [0, 1]}], {}).then(() => {
  document.body.setAttribute("data-done", "1");
});"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def build_report(rows: int, folder: Path) -> Path:
    """Run the finance suite on ``rows`` resampled rows; returns the report folder."""
    frame = pd.read_csv(REPO_ROOT / "datasets" / "finance" / "transactions.csv")
    scaled_frame(frame, rows, "txn_id").to_csv(folder / "transactions.csv", index=False)
    suite = (REPO_ROOT / "suites" / "finance.yaml").read_text()
    suite = suite.replace("../datasets/finance/transactions.csv", str(folder / "transactions.csv"))
    for folder_name in ("models", "datasets"):
        suite = suite.replace(f"../{folder_name}/", f"{REPO_ROOT / folder_name}/")
    (folder / "finance.yaml").write_text(suite)
    command = [sys.executable, "-m", "evalharness", "run", str(folder / "finance.yaml"), "--report-dir",
               str(folder / "reports"), "--", "-q"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, check=False, capture_output=True, text=True, timeout=900)
    print(f"evaluated {rows:,} rows in {time.perf_counter() - started:.1f} s")
    reports = folder / "reports"
    (reports / "reference.html").write_text(REFERENCE)
    (reports / "reference.js").write_text(REFERENCE_JS)
    return reports


def _browser() -> Any:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1400,1900"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")), options=options)


def _load(browser: Any, url: str, done: str) -> float:
    """Seconds from navigation start until ``done`` (a JS expression) holds."""
    browser.get("about:blank")
    browser.get(url)
    for _ in range(600):
        if browser.execute_script(f"return {done}"):
            break
        time.sleep(0.01)
    return float(browser.execute_script("return performance.now()")) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        reports = build_report(args.rows, Path(temporary))
        handler = functools.partial(_QuietHandler, directory=str(reports))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        figures = (reports / "report.html").read_text().count('class="figure"')
        browser = _browser()
        try:
            drawn = f"document.querySelectorAll('figure[data-rendered]').length == {figures}"
            stats = alternate(
                lambda: _load(browser, f"{base}/report.html", drawn),
                lambda: _load(browser, f"{base}/reference.html", "document.body.dataset.done"),
                args.repeats,
                measure=lambda call: call(),  # each load times itself, from navigation start
            )
        finally:
            browser.quit()
            server.shutdown()
        sizes = {path.name: path.stat().st_size for path in reports.iterdir() if path.is_file()}
    result = {
        "rows": args.rows, "figures": figures, "report_html_bytes": sizes["report.html"],
        "report_folder_bytes_without_rows_jsonl": sum(size for name, size in sizes.items()
                                                      if name not in ("rows.jsonl", "reference.html", "reference.js")),
        "run_json_bytes": sizes["run.json"], "render_median_s": round(stats.a_median_s, 3),
        "plotly_alone_median_s": round(stats.b_median_s, 3), "render_ratio_min_median_max": str(stats),
        "render_runs_s": [round(t, 3) for t in stats.a_seconds],
        "plotly_alone_runs_s": [round(t, 3) for t in stats.b_seconds],
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
