"""What the template budgets cost: a request body rendered by evalharness' bounded sandbox against the
same template in Jinja's own ImmutableSandboxedEnvironment (autoescaped), the reference.

Three bodies a suite really writes: one row (``{"x1": {{ x1 | tojson }}, ...}``), a batch of rows as one
``tojson``, and a batch built by a loop over rows. Renders alternate A and B; the ratio is reported as the
min, median and max over rounds.

Usage: ``python benchmarks/bench_templates.py [--rows 1000] [--rounds 15]``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import alternate  # noqa: E402

from evalharness.targets.templates import compile_template, render  # noqa: E402

BODIES = {
    "one row": '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}, "note": {{ note | tojson }}}',
    "batch, tojson": '{"instances": {{ rows | tojson }}}',
    "batch, loop": '[{% for r in rows %}{"x1": {{ r.x1 | tojson }}, "note": {{ r.note | tojson }}}'
    '{{ "," if not loop.last }}{% endfor %}]',
}


def _seconds(function: Callable[..., object], context: dict[str, Any], repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        function(**context)
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rows = [{"x1": i * 0.5, "x2": -i, "note": f"row {i} <b>"} for i in range(args.rows)]
    plain = ImmutableSandboxedEnvironment(autoescape=True)
    print(f"{'body':<16} {'bounded':>10} {'jinja':>10}   ratio min / median / max")
    for name, body in BODIES.items():
        ours, theirs = compile_template(body), plain.from_string(body)
        context = rows[0] if name == "one row" else {"rows": rows}
        repeats = 2000 if name == "one row" else 10
        stats = alternate(
            functools.partial(_seconds, functools.partial(render, ours), context, repeats),
            functools.partial(_seconds, theirs.render, context, repeats),
            args.rounds,
            measure=lambda call: call(),  # each side times its own renders, per render
        )
        print(f"{name:<16} {stats.a_median_s * 1e3:>8.3f}ms {stats.b_median_s * 1e3:>8.3f}ms   {stats}")


if __name__ == "__main__":
    main()
