"""Our two-sample KS test against ``scipy.stats.ks_2samp`` (method 'auto', two-sided), branch by branch.

The statistic must be equal exactly. The exact p-value (neither sample over 10,000 values) is held to a
relative 1e-9 where scipy's is above 1e-300 (measured: within 1e-11); the asymptotic one (kstwo's tail
at round(n1 n2 / (n1 + n2))) to a relative 1e-6 (measured: within 2e-11).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evalharness.metrics import ks
from evalharness.metrics.ks import ks_2samp
from tests.conftest import REPO_ROOT

EXACT_RTOL, ASYMPTOTIC_RTOL = 1e-9, 1e-6


def assert_matches_scipy(a: np.ndarray, b: np.ndarray) -> float:
    """Our statistic equals scipy's and the p-values agree to the branch's tolerance; returns scipy's p."""
    expected = stats.ks_2samp(a, b)
    found = ks_2samp(a, b)
    assert found.statistic == float(expected.statistic)
    exact = max(len(a), len(b)) <= ks.MAX_EXACT_N
    if expected.pvalue > 1e-300:
        rtol = EXACT_RTOL if exact else ASYMPTOTIC_RTOL
        assert found.pvalue == pytest.approx(float(expected.pvalue), rel=rtol, abs=0)
    else:
        assert found.pvalue == pytest.approx(float(expected.pvalue), abs=1e-300)
    return float(expected.pvalue)


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (400, 400, 0.0),  # equal sizes: the alternating sum
        (3000, 3000, 0.15),
        (5000, 6000, 0.0),  # the finance suite's sizes
        (5000, 6000, 0.04),
        (4987, 5941, 0.03),  # coprime sizes: no repeating band
        (997, 1009, 0.5),  # coprime, wide band: the anti-diagonal sweep
        (5000, 6000, 0.3),  # p about 1e-100
        (12, 9000, 0.8),  # one side much smaller
        (9000, 12, 0.8),
        (1, 50, 1.0),
        (2, 3, 0.0),
    ],
)
def test_normal_samples_match_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 * 7 + n2)
    assert_matches_scipy(rng.normal(size=n1), rng.normal(shift, size=n2))


@pytest.mark.parametrize(("n1", "n2", "high"), [(200, 300, 2), (5000, 6000, 2), (40, 50, 6), (5000, 6000, 24)])
def test_ties_match_scipy(n1: int, n2: int, high: int) -> None:
    """Flags (0/1) and small counts: the ECDFs jump at shared values, compared after all ties."""
    rng = np.random.default_rng(high)
    assert_matches_scipy(rng.integers(0, high, n1).astype(float), rng.integers(0, high + 1, n2).astype(float))


def test_identical_samples_have_p_one() -> None:
    values = np.random.default_rng(3).normal(size=700)
    result = ks_2samp(values, values.copy())
    assert (result.statistic, result.pvalue) == (0.0, 1.0)
    assert_matches_scipy(values, values[::-1].copy())


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")  # scipy says so
def test_equal_sizes_fall_back_where_scipy_does() -> None:
    """Seven against seven, one value apart: scipy's alternating sum rounds past 1, so it answers with the
    asymptotic distribution; so must we."""
    assert_matches_scipy(np.zeros(7), np.array([0.0] * 6 + [1.0]))


@pytest.mark.parametrize(("n1", "n2"), [(300, 400), (3000, 3000), (500, 9000)])
def test_far_apart_samples_have_a_tiny_p_value(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1)
    p = assert_matches_scipy(rng.normal(size=n1), rng.normal(40.0, size=n2))
    assert p < 1e-100


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (10_000, 9_999, 0.03),  # the largest exact case
        (10_001, 9_000, 0.03),  # the smallest asymptotic one
        (10_001, 9_000, 0.0),
        (20_000, 20_000, 0.1),  # Smirnov's sum for the tail
        (15_000, 800, 0.1),
        (20_000, 30, 0.6),  # n = 30: Durbin's matrix
        (12_000, 100, 0.0),
    ],
)
def test_sizes_around_the_exact_limit_match_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    assert_matches_scipy(rng.normal(size=n1), rng.normal(shift, size=n2))


def test_asymptotic_branch_uses_pelz_good_for_large_n() -> None:
    """n above 100,000 (two samples of over 200,000) with a small statistic: the Pelz-Good expansion."""
    rng = np.random.default_rng(11)
    assert_matches_scipy(rng.normal(size=210_000), rng.normal(size=220_000))


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")  # scipy says so
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=60),
    st.lists(st.integers(-5, 5), min_size=1, max_size=60),
    st.floats(-2, 2),
)
def test_random_small_samples_match_scipy(first: list[int], second: list[int], scale: float) -> None:
    assert_matches_scipy(np.array(first) * 0.5, np.array(second) * 0.5 + scale)


def test_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        ks_2samp(np.array([]), np.array([1.0]))


def test_drift_runs_without_importing_scipy() -> None:
    code = (
        "import sys\n"
        "import numpy as np, pandas as pd\n"
        "from evalharness.metrics.drift import DriftOptions, column_drift\n"
        "rng = np.random.default_rng(0)\n"
        "figures = column_drift('x', pd.Series(rng.normal(size=500)), pd.Series(rng.normal(0.1, size=600)),"
        " DriftOptions(reference='unused.csv'))\n"
        "assert figures['ks_pvalue'] is not None\n"
        "loaded = sorted(name for name in sys.modules if name == 'scipy' or name.startswith('scipy.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=REPO_ROOT)
