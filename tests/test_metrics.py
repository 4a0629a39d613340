"""Metrics: strict vs parsed-only on a hand-computed example, bins, per-action breakdown, errors."""

import math

import pytest

from actrep.errors import ActRepError
from actrep.metrics import DEFAULT_BINS, bin_label, bin_labels, compute_metrics

# Hand-built example. Errors e = |p - g| (strict scores an unparseable prediction as p = 0):
#   1 squat  g=10 p=10   e=0
#   2 squat  g=10 p=12   e=2
#   3 pushup g=4  p=None e=4 (strict)   unparsed
#   4 pushup g=1  p=None e=1 (strict)   unparsed, g <= 1: still NOT OBO in strict mode
#   5 jump   g=25 p=24   e=1
#   6 jump   g=0  p=0    e=0
RECORDS = [
    {"count": 10, "pred": 10, "action": "squat"},
    {"count": 10, "pred": 12, "action": "squat"},
    {"count": 4, "pred": None, "action": "pushup"},
    {"count": 1, "pred": None, "action": "pushup"},
    {"count": 25, "pred": 24, "action": "jump"},
    {"count": 0, "pred": 0, "action": "jump"},
]
FIELDS = {"n", "n_parsed", "parse_rate", "mae", "abs_mae", "rmse", "obo", "exact"}


def test_strict_hand_computed():
    m = compute_metrics(RECORDS)
    assert m["mode"] == "strict"
    assert m["n"] == 6 and m["n_parsed"] == 4
    assert m["parse_rate"] == pytest.approx(4 / 6)
    # mae = (0/10.1 + 2/10.1 + 4/4.1 + 1/1.1 + 1/25.1 + 0/0.1) / 6
    assert m["mae"] == pytest.approx((2 / 10.1 + 4 / 4.1 + 1 / 1.1 + 1 / 25.1) / 6)
    assert m["mae"] == pytest.approx(0.3537602, abs=1e-7)
    assert m["abs_mae"] == pytest.approx(8 / 6)
    assert m["rmse"] == pytest.approx(math.sqrt(22 / 6))
    assert m["rmse"] == pytest.approx(1.9148542, abs=1e-7)
    assert m["obo"] == pytest.approx(3 / 6)  # records 1, 5, 6 (record 4 is unparsed: a miss)
    assert m["exact"] == pytest.approx(2 / 6)  # records 1, 6


def test_parsed_only_hand_computed():
    m = compute_metrics(RECORDS, mode="parsed_only")
    assert m["mode"] == "parsed_only (reference-compatible)"
    assert m["n"] == 6 and m["n_parsed"] == 4
    assert m["parse_rate"] == pytest.approx(4 / 6)  # still reported
    # only records 1, 2, 5, 6: e = 0, 2, 1, 0
    assert m["mae"] == pytest.approx((2 / 10.1 + 1 / 25.1) / 4)
    assert m["mae"] == pytest.approx(0.0594651, abs=1e-7)
    assert m["abs_mae"] == pytest.approx(3 / 4)
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert m["obo"] == pytest.approx(3 / 4)
    assert m["exact"] == pytest.approx(2 / 4)


def test_by_bin():
    m = compute_metrics(RECORDS)
    assert list(m["by_bin"]) == ["0", "1-5", "6-10", "21+"]  # bin order; empty "11-20" omitted
    for sub in m["by_bin"].values():
        assert set(sub) == FIELDS
    b = m["by_bin"]
    perfect = {"n": 1, "n_parsed": 1, "parse_rate": 1.0, "mae": 0.0, "abs_mae": 0.0, "rmse": 0.0, "obo": 1.0, "exact": 1.0}
    assert b["0"] == perfect
    # "1-5": records 3 (g=4, e=4) and 4 (g=1, e=1), both unparsed
    assert b["1-5"]["n"] == 2 and b["1-5"]["n_parsed"] == 0 and b["1-5"]["parse_rate"] == 0.0
    assert b["1-5"]["mae"] == pytest.approx((4 / 4.1 + 1 / 1.1) / 2)
    assert b["1-5"]["abs_mae"] == pytest.approx(2.5)
    assert b["1-5"]["obo"] == 0.0 and b["1-5"]["exact"] == 0.0
    assert b["6-10"]["mae"] == pytest.approx(1 / 10.1)
    assert b["6-10"]["rmse"] == pytest.approx(math.sqrt(2))
    assert b["6-10"]["obo"] == 0.5 and b["6-10"]["exact"] == 0.5
    assert b["21+"]["abs_mae"] == 1.0 and b["21+"]["obo"] == 1.0 and b["21+"]["exact"] == 0.0

    p = compute_metrics(RECORDS, mode="parsed_only")["by_bin"]
    no_scores = dict.fromkeys(("mae", "abs_mae", "rmse", "obo", "exact"))
    assert p["1-5"] == {"n": 2, "n_parsed": 0, "parse_rate": 0.0, **no_scores}
    assert p["6-10"] == m["by_bin"]["6-10"]  # nothing unparsed there: both modes agree


def test_by_action():
    m = compute_metrics(RECORDS)
    assert list(m["by_action"]) == ["jump", "pushup", "squat"]
    a = m["by_action"]
    assert a["jump"]["n"] == 2 and a["jump"]["obo"] == 1.0 and a["jump"]["exact"] == 0.5
    assert a["jump"]["mae"] == pytest.approx((1 / 25.1 + 0) / 2)
    assert a["pushup"]["parse_rate"] == 0.0 and a["pushup"]["abs_mae"] == pytest.approx(2.5)
    assert a["squat"]["abs_mae"] == pytest.approx(1.0) and a["squat"]["obo"] == 0.5
    for sub in a.values():
        assert set(sub) == FIELDS
    assert compute_metrics(RECORDS, mode="parsed_only")["by_action"]["pushup"]["mae"] is None


def test_missing_action_grouped():
    recs = [{"count": 3, "pred": 3}, {"count": 3, "pred": 3, "action": None}, {"count": 3, "pred": 2, "action": "squat"}]
    m = compute_metrics(recs)
    assert list(m["by_action"]) == ["(none)", "squat"]
    assert m["by_action"]["(none)"]["n"] == 2


def test_all_unparsed():
    recs = [{"count": 0, "pred": None}, {"count": 1, "pred": None}]
    s = compute_metrics(recs)
    assert (s["parse_rate"], s["obo"], s["exact"]) == (0.0, 0.0, 0.0)  # g <= 1 does not rescue a non-answer
    assert s["abs_mae"] == pytest.approx(0.5)
    p = compute_metrics(recs, mode="parsed_only")
    assert p["n"] == 2 and p["parse_rate"] == 0.0
    assert all(p[k] is None for k in ("mae", "abs_mae", "rmse", "obo", "exact"))


def test_records_may_be_an_iterator_and_carry_extra_keys():
    recs = iter([{"count": 5, "pred": 5, "video_id": "a", "raw": "<answer>5</answer>"}])
    assert compute_metrics(recs)["exact"] == 1.0


def test_bins():
    assert DEFAULT_BINS == (0, 1, 6, 11, 21)
    assert bin_labels() == ["0", "1-5", "6-10", "11-20", "21+"]
    cases = {0: "0", 1: "1-5", 5: "1-5", 6: "6-10", 10: "6-10", 11: "11-20", 20: "11-20", 21: "21+", 300: "21+"}
    for c, label in cases.items():
        assert bin_label(c) == label
    assert bin_labels((1, 10)) == ["1-9", "10+"]
    assert bin_label(3, (0, 4)) == "0-3"
    m = compute_metrics(RECORDS, bins=(0, 11))
    assert list(m["by_bin"]) == ["0-10", "11+"]
    assert m["by_bin"]["0-10"]["n"] == 5


@pytest.mark.parametrize("bins", [(), (5, 5), (6, 1), (-1, 3), (0.5, 2), ("1",)])
def test_bad_bins(bins):
    with pytest.raises(ActRepError, match="bins"):
        bin_labels(bins)


def test_count_below_first_bin():
    with pytest.raises(ActRepError, match="below the first bin"):
        bin_label(0, (1, 6))
    with pytest.raises(ActRepError, match="below the first bin"):
        compute_metrics([{"count": 0, "pred": 0}], bins=(1, 6))


def test_errors():
    with pytest.raises(ActRepError, match="no records"):
        compute_metrics([])
    with pytest.raises(ActRepError, match="unknown metrics mode"):
        compute_metrics(RECORDS, mode="lenient")
    with pytest.raises(ActRepError, match="record 1: missing 'pred'"):
        compute_metrics([{"count": 1, "pred": 1}, {"count": 1}])
    with pytest.raises(ActRepError, match="record 0: missing 'count'"):
        compute_metrics([{"pred": 1}])
    with pytest.raises(ActRepError, match="record 0: ground truth"):
        compute_metrics([{"count": None, "pred": 1}])
    with pytest.raises(ActRepError, match="record 0: ground truth"):
        compute_metrics([{"count": -1, "pred": 1}])
    with pytest.raises(ActRepError, match="record 0: prediction"):
        compute_metrics([{"count": 1, "pred": 1.5}])
    with pytest.raises(ActRepError, match="record 0: expected a mapping"):
        compute_metrics([(1, 1)])


def test_numpy_ints_accepted():
    import numpy as np

    m = compute_metrics([{"count": np.int64(4), "pred": np.int32(5)}])
    assert m["obo"] == 1.0 and m["abs_mae"] == 1.0
