"""The comparison's statistics and table, on fixed numbers checked by hand."""

import json
import math
import stat

import numpy as np
import pytest
from scipy import stats as scipy_stats

from keras_samplepairing.compare.progress import Estimate
from keras_samplepairing.compare.report import (
    conclusions,
    format_difference,
    markdown_table,
    summary_rows,
)
from keras_samplepairing.compare.results import write_json
from keras_samplepairing.compare.stats import (
    compare_paired,
    holm,
    paired_t_p_value,
    summarize,
)
from keras_samplepairing.compare.variants import VARIANTS

# Student's t quantiles t(0.975, df) in closed form (Hill 1970): for 2 degrees
# of freedom (2p - 1) / sqrt(2p(1 - p)); for 4, with a = 4p(1 - p),
# 2 sqrt(cos(arccos(sqrt(a)) / 3) / sqrt(a) - 1).
_A = 4 * 0.975 * 0.025
T_975 = {
    2: 0.95 / math.sqrt(2 * 0.975 * 0.025),
    4: 2 * math.sqrt(math.cos(math.acos(math.sqrt(_A)) / 3) / math.sqrt(_A) - 1),
}

BASELINE = [0.20, 0.22, 0.18, 0.25, 0.21]
VARIANT = [0.15, 0.20, 0.18, 0.19, 0.16]  # differences -0.05, -0.02, 0, -0.06, -0.05


def test_mean_std_and_t_interval():
    summary = summarize([0.10, 0.12, 0.14])
    assert summary.n == 3
    assert summary.mean == pytest.approx(0.12, abs=1e-15)
    # sqrt(((-0.02)^2 + 0 + 0.02^2) / 2) = 0.02
    assert summary.std == pytest.approx(0.02, abs=1e-15)
    assert summary.half_width == pytest.approx(T_975[2] * 0.02 / math.sqrt(3), rel=1e-12)
    assert T_975[2] == pytest.approx(4.3027, abs=1e-4)  # the printed tables' value
    assert summary.half_width == pytest.approx(0.049683, abs=1e-6)


def test_one_seed_has_no_interval():
    summary = summarize([0.3])
    assert (summary.n, summary.mean, summary.std, summary.half_width) == (1, 0.3, None, None)
    paired = compare_paired({0: 0.2}, {0: 0.3})
    assert paired.mean_difference == pytest.approx(-0.1)
    assert (paired.half_width, paired.p_value, paired.wins, paired.n) == (None, None, 1, 1)


def test_paired_difference_wins_and_t_test():
    paired = compare_paired(dict(enumerate(VARIANT)), dict(enumerate(BASELINE)))
    assert paired.seeds == (0, 1, 2, 3, 4)
    assert (paired.wins, paired.ties, paired.losses) == (4, 1, 0)
    assert paired.mean_difference == pytest.approx(-0.036, abs=1e-15)
    # Squared deviations from -0.036: 0.000196, 0.000256, 0.001296, 0.000576,
    # 0.000196; their sum 0.00252 / 4 = 0.00063.
    sd = math.sqrt(0.00063)
    assert T_975[4] == pytest.approx(2.7764, abs=1e-4)
    assert paired.half_width == pytest.approx(T_975[4] * sd / math.sqrt(5), rel=1e-12)
    t = -0.036 / (sd / math.sqrt(5))
    assert t == pytest.approx(-3.20713, abs=1e-5)
    assert paired.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(t), 4), rel=1e-10)
    assert paired.p_value == pytest.approx(scipy_stats.ttest_rel(VARIANT, BASELINE).pvalue)
    assert paired.relative == pytest.approx(-0.036 / 0.212, rel=1e-12)


def test_paired_uses_only_common_seeds():
    paired = compare_paired({0: 0.1, 1: 0.2, 7: 0.9}, {0: 0.2, 1: 0.1, 2: 0.5})
    assert paired.seeds == (0, 1)
    assert paired.mean_difference == pytest.approx(0.0)
    with pytest.raises(ValueError, match="No seed in common"):
        compare_paired({0: 0.1}, {1: 0.1})


def test_p_value_without_spread_is_the_sign_test():
    # One test image (1/360) worse on every seed is no certainty: the sign
    # test's p for n equal signs is 2 * 0.5**n.
    assert paired_t_p_value([0.0, 0.0, 0.0]) == 1.0
    assert paired_t_p_value([-0.01, -0.01]) == 0.5
    assert paired_t_p_value([1 / 360] * 5) == 0.0625
    # Errors as a run computes them: one image worse on every seed, from
    # different counts, whose differences differ in the last bits.
    one_worse = [(k + 1) / 360 - k / 360 for k in (10, 50, 13, 97, 200)]
    assert np.ptp(one_worse) > 0
    assert paired_t_p_value(one_worse) == 0.0625
    assert paired_t_p_value([-0.01]) is None
    rows = summary_rows(
        {"baseline": {0: 0.10, 1: 0.12}, "v": {0: 0.10 + 1 / 360, 1: 0.12 + 1 / 360}},
        {},
        "baseline",
    )
    assert rows[1]["vs_baseline"]["p_value"] == 0.5
    assert rows[1]["vs_baseline"]["survives_holm"] is False


def test_interval_is_cut_at_0_and_100_percent():
    rows = summary_rows({"baseline": {0: 0.05, 1: 0.90}, "v": {0: 0.0, 1: 0.01}}, {}, "baseline")
    base, v = rows
    assert base["ci_half_width"] > 1.0  # t(0.975, 1) = 12.7 times a wide spread
    assert (base["ci_low"], base["ci_high"]) == (0.0, 1.0)
    assert v["ci_low"] == 0.0 and v["ci_high"] == pytest.approx(0.005 + v["ci_half_width"])
    assert "0.00–100.00%" in markdown_table(rows)


def test_holm_step_down():
    # Sorted: a 0.01 * 3 = 0.03, c 0.03 * 2 = 0.06, b max(0.06, 0.04 * 1) = 0.06.
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    assert list(adjusted) == ["a", "b", "c", "d"]
    assert adjusted["a"][0] == pytest.approx(0.03) and adjusted["a"][1] is True
    assert adjusted["b"][0] == pytest.approx(0.06) and adjusted["b"][1] is False
    assert adjusted["c"][0] == pytest.approx(0.06) and adjusted["c"][1] is False
    assert adjusted["d"] == (None, None)
    # b's raw p (0.04) is below 0.05, but not once three comparisons are counted.
    assert holm({"x": 0.6, "y": 0.5})["x"] == (pytest.approx(1.0), False)
    with pytest.raises(ValueError, match="p-value"):
        holm({"x": 1.5})


def test_summary_rows_and_table():
    errors = {
        "baseline": dict(enumerate(BASELINE)),
        "paper": dict(enumerate(VARIANT)),
        "batch": dict(enumerate([0.21, 0.23, 0.19, 0.24, 0.22])),
    }
    times = {name: dict.fromkeys(range(5), 10.0) for name in errors}
    rows = summary_rows(errors, times, "baseline", {"paper": "the paper"})
    assert [row["variant"] for row in rows] == ["baseline", "paper", "batch"]
    base, paper, batch = rows
    assert base["vs_baseline"] is None and base["mean_error"] == pytest.approx(0.212)
    assert paper["description"] == "the paper" and paper["time_per_run_s"] == 10.0
    assert paper["vs_baseline"]["wins"] == 4 and paper["vs_baseline"]["ties"] == 1
    # batch: differences 0.01, 0.01, 0.01, -0.01, 0.01 (one win).
    assert batch["vs_baseline"]["wins"] == 1
    p_paper, p_batch = paper["vs_baseline"]["p_value"], batch["vs_baseline"]["p_value"]
    assert p_paper < p_batch
    assert paper["vs_baseline"]["p_holm"] == pytest.approx(2 * p_paper)
    assert batch["vs_baseline"]["p_holm"] == pytest.approx(max(2 * p_paper, p_batch))
    assert paper["vs_baseline"]["survives_holm"] is (2 * p_paper <= 0.05)
    table = markdown_table(rows)
    lines = table.splitlines()
    assert lines[0].startswith("| variant | seeds | test error | 95% CI | Δ vs baseline |")
    assert lines[2].startswith("| baseline | 5 | 21.20% | ")
    assert "| — | — | — | — | 10 s |" in lines[2]
    assert lines[3].startswith("| paper | 5 | 17.60% | ")
    assert "| -3.60 pp ± 3.12 (-17%) | 4/5 (1 tie) |" in lines[3]
    assert format_difference(paper["vs_baseline"]) == "-3.60 pp ± 3.12 (-17%)"


def test_one_seed_table_says_n_a():
    rows = summary_rows({"baseline": {0: 0.3}, "paper": {0: 0.2}}, {}, "baseline")
    line = markdown_table(rows).splitlines()[3]
    assert line == "| paper | 1 | 20.00% | n/a | -10.00 pp (-33%) | 1/1 | n/a | n/a | n/a |"
    assert "no interval and no test" in conclusions(rows)


def test_conclusion_names_the_survivors():
    errors = {
        "baseline": dict(enumerate([0.30, 0.31, 0.29, 0.30, 0.32])),
        "paper": dict(enumerate([0.20, 0.22, 0.19, 0.21, 0.22])),
        "batch": dict(enumerate([0.31, 0.30, 0.30, 0.31, 0.31])),
    }
    rows = summary_rows(errors, {}, "baseline")
    text = conclusions(rows)
    assert text.startswith("Surviving Holm's adjustment over 2 comparisons at α = 0.05: paper (")
    assert "better" in text and "batch" not in text


def test_estimate_from_the_first_epochs_then_from_runs():
    estimate = Estimate(epochs=10)
    assert estimate.left([VARIANTS["baseline"]]) is None
    # Set-up 1 s, epochs 3.0 (compiling), 0.5, 0.4, 0.5: 0.5 s/epoch, and
    # 1 + 4.4 - 4 * 0.5 = 3.4 s fixed per run.
    estimate.calibrate(VARIANTS["baseline"], 1.0, [3.0, 0.5, 0.4, 0.5])
    assert estimate.per_epoch == pytest.approx(0.5)
    assert estimate.fixed == pytest.approx(3.4)
    paper = VARIANTS["paper"]
    assert estimate.run_seconds(VARIANTS["baseline"]) == pytest.approx(8.4)
    assert estimate.run_seconds(paper) == pytest.approx(3.4 + 10 * 0.5 * paper.cost)
    estimate.record(VARIANTS["baseline"], 16.8)  # twice the estimate
    assert estimate.run_seconds(VARIANTS["baseline"]) == pytest.approx(16.8)
    assert estimate.run_seconds(paper) == pytest.approx(2 * (3.4 + 5 * paper.cost))
    assert estimate.left([paper, VARIANTS["baseline"]]) == pytest.approx(
        2 * (3.4 + 5 * paper.cost) + 16.8
    )


def test_results_file_is_written_whole_and_readable_by_others(tmp_path):
    path = tmp_path / "results.json"
    write_json(str(path), {"runs": [1, 2]})
    assert json.loads(path.read_text()) == {"runs": [1, 2]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o664)
    write_json(str(path), {"runs": [3]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o664  # kept
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
