"""The HTML report reads from the top: a verdict banner naming each gate that did not pass and why,
linked to where its rows are; a table of contents; no inline style; the endpoint URL of http targets."""

from __future__ import annotations

import re
from html import escape as html_escape

from evalharness.record import GateRecord, RunRecord, SuiteRecord
from evalharness.report.render import render_html, templates_dir
from evalharness.untrusted import untrusted


def _record() -> RunRecord:
    failed = GateRecord(name="accuracy", nodeid="s.yaml::accuracy", metric="accuracy", status="failed", value=0.5,
                        min=0.9, message="accuracy 0.5000 is below min 0.9 <b>",
                        worst_rows=[{"id": "r1", "expected": 1, "predicted": 0}])  # fmt: skip
    error = GateRecord(name="recall", nodeid="s.yaml::recall", metric="recall", status="error", message="n = 0")
    passed = GateRecord(name="f1", nodeid="s.yaml::f1", metric="f1", status="passed", value=0.9)
    suite = SuiteRecord(name="demo", path="s.yaml", sha256="0" * 64, target={"kind": "http", "url": "http://127.0.0.1:9/p"},
                        gates=[passed, error, failed])  # fmt: skip
    return RunRecord(evalharness_version="0", status="failed", started_at="t", finished_at="t", duration_s=1.0,
                     suites=[suite], summary={"gates": 3, "passed": 1, "failed": 1, "errors": 1})  # fmt: skip


def test_the_banner_names_every_gate_that_did_not_pass_failed_first_linked_to_its_rows() -> None:
    html = render_html(_record())
    banner = html[html.index('<div class="banner failed"') : html.index("</div>", html.index('class="banner'))]
    assert "1 of 3 gates passed, 1 failed, 1 could not be evaluated" in banner
    items = re.findall(r'<li><span class="status (\w+)">.*?<a href="#([\w-]+)">(.*?)</a>: (.*?)</li>', banner)
    assert [(status, text) for status, _, text, _ in items] == [
        ("failed", "demo :: accuracy"),
        ("error", "demo :: recall"),
    ]
    assert items[0][3] == "accuracy 0.5000 is below min 0.9 &lt;b&gt;"  # the why, escaped
    for _, target, _, _ in items:
        assert html.count(f'id="{target}"') == 1  # each link lands: worst rows, or the gate's row without rows
    assert items[1][1].endswith("-row")


def test_contents_links_resolve_and_nothing_is_styled_inline() -> None:
    html = render_html(_record())
    nav = html[html.index('<nav class="toc"') : html.index("</nav>")]
    assert all(f'id="{target}"' in html for target in re.findall(r'href="#([\w-]+)"', nav))
    assert "<style" not in html and 'style="' not in html and '<link rel="stylesheet" href="report.css">' in html
    assert "<code>http://127.0.0.1:9/p</code>" in html  # an endpoint's URL is shown like a model's path
    assert ".banner" in (templates_dir() / "report.css").read_text()


def test_each_suite_opens_with_a_summary_card_and_long_cells_fold() -> None:
    record = _record()
    long_answer = "<i>" + "forecast " * 30
    record.suites[0].gates[2].worst_rows[0]["predicted"] = long_answer
    html = render_html(record)
    cards = html[html.index('<div class="cards"') : html.index("</div>\n", html.rindex('<div class="card'))]
    assert "1/3</span> gates passed" in cards and '<div class="card failed"><span class="big">1</span> failed' in cards
    assert '<div class="card error"><span class="big">1</span> not evaluated' in cards
    folded = re.search(
        r'<details class="long"><summary>(.*?)</summary><span class="whole">(.*?)</span></details>', html
    )
    assert folded is not None and len(folded[1]) < 80 and folded[1].startswith("&lt;i&gt;forecast")
    whole = html_escape(untrusted(long_answer, 200))  # as the record keeps it: max_cell_chars, with its true length
    assert folded[2] == whole and whole.endswith("…(273 chars)")  # on demand, escaped, without a script


def test_the_contents_link_each_suites_sections_and_every_link_has_its_target() -> None:
    record = _record()
    suite = record.suites[0]
    rule = {"name": "no_refund_over_limit", "rule": "x < 1", "applicable": 10, "rate": 1.0, "violations": 0,
            "errors": 0, "violating_ids": []}  # fmt: skip
    suite.gates.append(GateRecord(name="consistency", nodeid="s.yaml::consistency", metric="consistency",
                                  status="passed", value=1.0, details={"rules": [rule]}))  # fmt: skip
    suite.confusion_matrix = {"labels": [0, 1], "matrix": [[5, 1], [2, 3]]}
    html = render_html(record)
    toc = html[html.index('<nav class="toc"') : html.index("</nav>")]
    links = re.findall(r'href="#([^"]+)"', toc)
    assert links[:3] == ["gates", "environment", "suite-1"]
    assert all(html.count(f'id="{target}"') == 1 for target in links)  # every link lands, once
    labels = re.findall(r">([^<]+)</a>", toc)
    assert labels[3:] == ["charts", "consistency: rules", "worst rows (accuracy)"]
    # every rule holds, so its table is folded under a summary that says so; a broken rule would open it
    assert '<details class="table"><summary>1 rule, every one holds on every row it applies to</summary>' in html
    rule.update(violations=2, rate=0.8)
    assert '<details class="table" open><summary>1 rule, 1 broken</summary>' in render_html(record)
