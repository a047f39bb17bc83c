"""The AI impact verdict (issue 16, item 5): adjusted and DiD reconciled in plain language, each case."""

from __future__ import annotations

from metrics.analytics.impact_verdict import Interval, verdict

FASTER = Interval(-13.2, -18.6, -7.6, "%")
DID_CROSSES = Interval(-4.9, -16.5, 8.3, "%")
DID_FASTER = Interval(-9.0, -15.0, -2.0, "%")
DID_SLOWER = Interval(6.0, 1.0, 11.0, "%")
ADJ_CROSSES = Interval(-2.0, -6.0, 2.0, "%")


def test_agree_when_both_intervals_exclude_zero_on_the_same_side() -> None:
    v = verdict("cycle_time", FASTER, DID_FASTER)
    assert v.kind == "agree"
    assert "shorter cycle times" in v.headline
    assert "-13.2% [-18.6%, -7.6%]" in v.text and "-9.0% [-15.0%, -2.0%]" in v.text


def test_disagree_when_they_exclude_zero_on_opposite_sides() -> None:
    v = verdict("cycle_time", FASTER, DID_SLOWER)
    assert v.kind == "disagree"
    assert "shorter cycle times" in v.text and "longer cycle times" in v.text
    assert "do not quote either" in v.text


def test_the_issue_case_adjusted_says_faster_did_cannot_confirm() -> None:
    v = verdict("cycle_time", FASTER, DID_CROSSES)
    assert v.kind == "inconclusive" and v.headline == "Likely, not confirmed"
    assert v.text.startswith("The adjusted estimate (-13.2% [-18.6%, -7.6%]) points to shorter cycle times")
    assert "cannot confirm it" in v.text and "-4.9% [-16.5%, +8.3%]" in v.text


def test_inconclusive_when_only_did_excludes_zero() -> None:
    v = verdict("cycle_time", ADJ_CROSSES, DID_SLOWER)
    assert v.kind == "inconclusive" and v.headline == "Not established"
    assert "longer cycle times" in v.text


def test_inconclusive_when_both_cross_zero() -> None:
    v = verdict("cycle_time", ADJ_CROSSES, DID_CROSSES)
    assert v.kind == "inconclusive" and v.headline == "No clear effect"


def test_an_interval_touching_zero_is_not_an_effect() -> None:
    assert Interval(-5.0, -10.0, 0.0, "%").side == 0
    assert verdict("cycle_time", Interval(-5.0, -10.0, 0.0, "%"), DID_FASTER).headline == "Not established"


def test_single_method_and_missing() -> None:
    v = verdict("revert_rate", Interval(-1.2, -2.0, -0.4, " pp"), None)
    assert v.kind == "single" and "fewer reverts" in v.text and "no second method" in v.text
    assert verdict("revert_rate", Interval(0.3, -0.5, 1.1, " pp"), None).kind == "single"
    assert verdict("cycle_time", None, DID_FASTER).kind == "missing"
