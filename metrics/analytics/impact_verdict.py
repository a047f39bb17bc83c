"""One plain-language verdict from the adjusted estimate and the difference-in-differences (DiD) check.

Pure Python (no Django, no pandas).  An interval "says" something only when it excludes zero:

- **agree**: both intervals exclude zero on the same side: two independent methods point the same way;
- **disagree**: they exclude zero on opposite sides: at least one is biased, quote neither;
- **inconclusive**: one or both intervals include zero: say which one sees an effect and that the other
  cannot confirm it (not that it contradicts it);
- **single**: only the adjusted estimate exists (DiD needs teams adopting AI at different times);
- **missing**: no adjusted estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["agree", "disagree", "inconclusive", "single", "missing"]
# outcome -> (what a negative effect means, what a positive one means)
WORDS = {
    "cycle_time": ("shorter cycle times (faster)", "longer cycle times (slower)"),
    "revert_rate": ("fewer reverts", "more reverts"),
}


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    unit: str  # "%" or " pp"

    @property
    def side(self) -> int:
        """+1 / -1 when the interval lies above / below zero, 0 when it includes zero."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    @property
    def text(self) -> str:
        u = self.unit
        return f"{self.estimate:+.1f}{u} [{self.low:+.1f}{u}, {self.high:+.1f}{u}]"


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    headline: str
    text: str


def _says(outcome: str, side: int) -> str:
    negative, positive = WORDS.get(outcome, ("a decrease", "an increase"))
    return negative if side < 0 else positive


def verdict(outcome: str, adjusted: Interval | None, did: Interval | None) -> Verdict:
    """The verdict on ``outcome`` ("cycle_time", "revert_rate") for AI-assisted PRs."""
    if adjusted is None:
        return Verdict("missing", "No estimate yet", "There is not enough data for an adjusted estimate.")
    adj = f"the adjusted estimate ({adjusted.text})"
    if did is None:
        seen = (
            f"points to {_says(outcome, adjusted.side)}"
            if adjusted.side
            else "cannot tell an effect from no change"
        )
        return Verdict(
            "single",
            "One method only",
            f"Only {adj} is available and it {seen}; there is no second method to check it "
            "(the staggered-adoption check needs teams that adopted AI at different times).",
        )
    check = f"the staggered-adoption check, difference-in-differences ({did.text})"
    if adjusted.side and adjusted.side == did.side:
        return Verdict(
            "agree",
            f"Both methods point to {_says(outcome, adjusted.side)}",
            f"Both {adj} and {check} exclude no change, on the same side: two independent methods "
            "agree on the direction. The size is less certain than the direction: quote the "
            "adjusted estimate with its interval.",
        )
    if adjusted.side and did.side:
        return Verdict(
            "disagree",
            "The methods disagree",
            f"{adj.capitalize()} points to {_says(outcome, adjusted.side)}, {check} to "
            f"{_says(outcome, did.side)}. At least one of them is biased (for example by teams "
            "that were changing anyway): do not quote either until this is understood.",
        )
    if adjusted.side:
        return Verdict(
            "inconclusive",
            "Likely, not confirmed",
            f"{adj.capitalize()} points to {_says(outcome, adjusted.side)}; {check} cannot "
            "confirm it: its interval includes no change. It does not contradict it either: treat "
            "the adjusted estimate as likely but unconfirmed.",
        )
    if did.side:
        return Verdict(
            "inconclusive",
            "Not established",
            f"{adj.capitalize()} cannot tell an effect from no change; {check} points to "
            f"{_says(outcome, did.side)}, but on its own it is the weaker design (fewer, larger "
            "groups). Treat the effect as not established.",
        )
    return Verdict(
        "inconclusive",
        "No clear effect",
        f"Neither {adj} nor {check} can tell an effect from no change: the data are consistent "
        "with no effect, and with a modest one either way.",
    )
