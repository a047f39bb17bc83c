"""metrics.analytics.surveys and survey_groups: statistics and the privacy floor, on small frames (no DB)."""

from __future__ import annotations

import itertools
import math
import random

import pandas as pd
import pytest

from metrics.analytics import surveys as s

M = 5


def tree(*rows: tuple[str, str | None, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["group", "parent", "respondents"])


def status(frame: pd.DataFrame, min_size: int = M) -> dict[str, str]:
    return dict(zip(frame["group"], s.floor_status(frame, min_size), strict=True))


TEAMS = pd.DataFrame(
    {
        "team_id": [1, 2, 3, 4, 5, 6],
        "parent_id": pd.array([pd.NA, 1, 1, 3, pd.NA, 5], dtype="Int64"),
        "name": ["Product", "Search", "Checkout", "Payments", "Platform", "Infra"],
    }
)


def responses(
    *rows: tuple[int | None, float | None, float | None, float | None, str, str],
    round_id: int = 1,
    start: str = "2025-03-03T09:00:00Z",
) -> pd.DataFrame:
    """(team_id, overall, ease, hours, tool, frequency) per response."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "team_id",
            "overall_satisfaction",
            "ease_of_shipping",
            "ai_hours_saved_per_week",
            "ai_tool",
            "ai_frequency",
        ],
    )
    return frame.assign(
        response_id=range(1, len(rows) + 1),
        round_id=round_id,
        team_id=pd.array(frame["team_id"], dtype="Int64"),
        submitted_at=pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=len(rows), freq="D"),
        overall_satisfaction=frame["overall_satisfaction"].astype(float),
        ease_of_shipping=frame["ease_of_shipping"].astype(float),
        ai_hours_saved_per_week=frame["ai_hours_saved_per_week"].astype(float),
        free_text="",
    )


def members(**per_team: int) -> pd.DataFrame:
    """team_<id>=n: n distinct people in that team."""
    rows, person = [], itertools.count(1)
    for key, n in per_team.items():
        rows += [(next(person), int(key.split("_")[1])) for _ in range(n)]
    return pd.DataFrame(rows, columns=["person_id", "team_id"])


class TestGroupTree:
    def test_scope_descendants_order_and_parents(self) -> None:
        groups = s.group_tree(TEAMS, [1])
        assert list(groups["group"]) == [
            "all",
            "team:1",
            "team:3",
            "team:4",
            "team:2",
        ]  # depth-first, by name
        assert list(groups["parent"].fillna("-")) == ["-", "all", "team:1", "team:3", "team:1"]
        assert list(groups["depth"]) == [0, 1, 2, 3, 2]
        assert list(groups["name"])[:2] == ["All respondents", "Product"]

    def test_nearest_ancestor_inside_the_round(self) -> None:
        groups = s.group_tree(TEAMS, [4, 2])  # Payments and Search, whose parents are outside the round
        assert dict(zip(groups["group"], groups["parent"].fillna("-"), strict=True)) == {
            "all": "-",
            "team:4": "all",
            "team:2": "all",
        }
        extra = s.group_tree(TEAMS, [4], extra_team_ids=[1])  # Product joins: Payments sits below it
        assert dict(zip(extra["group"], extra["parent"].fillna("-"), strict=True))["team:4"] == "team:1"

    def test_unknown_team(self) -> None:
        with pytest.raises(ValueError, match=r"unknown team id\(s\) \[99\]"):
            s.group_tree(TEAMS, [1, 99])

    def test_cycle_in_team_data_does_not_hang(self) -> None:
        looped = pd.DataFrame({"team_id": [1, 2], "parent_id": [2, 1], "name": ["A", "B"]})
        groups = s.group_tree(looped, [1])
        assert set(groups["group"]) == {"all", "team:1", "team:2"}

    def test_expand_puts_rows_in_every_group_above(self) -> None:
        groups = s.group_tree(TEAMS, [1])
        rows = pd.DataFrame({"id": [1, 2, 3], "team_id": pd.array([4, pd.NA, 6], dtype="Int64")})
        out = s.expand_to_groups(rows, groups)
        assert sorted(zip(out["id"], out["group"], strict=True)) == [
            (1, "all"),
            (1, "team:1"),
            (1, "team:3"),
            (1, "team:4"),
            (2, "all"),
            (3, "all"),
        ]


class TestFloorRule:
    def test_the_subtraction_example_parent_7_child_5_sibling_2(self) -> None:
        frame = tree(("p", None, 7), ("a", "p", 5), ("b", "p", 2))
        assert status(frame) == {"p": "", "a": "subtraction", "b": "small"}
        assert list(s.apply_group_floor(frame, M)["group"]) == ["p"]

    def test_boundary_is_inclusive(self) -> None:
        assert status(tree(("x", None, 5), ("y", None, 4))) == {"x": "", "y": "small"}
        assert status(tree(("x", None, 1)), min_size=1) == {"x": ""}

    def test_empty_groups_are_hidden_as_small(self) -> None:
        assert status(tree(("p", None, 6), ("a", "p", 0), ("b", "p", 6))) == {"p": "", "a": "small", "b": ""}

    def test_children_covering_the_parent_exactly_are_all_shown(self) -> None:
        assert status(tree(("p", None, 10), ("a", "p", 5), ("b", "p", 5))) == {"p": "", "a": "", "b": ""}

    def test_several_children_leaving_a_small_residual(self) -> None:
        # 12 = 5 + 5 + 2: showing both fives would reveal the 2 as p - a - b (not caught pairwise).
        frame = tree(("p", None, 12), ("a", "p", 5), ("b", "p", 5), ("c", "p", 2))
        assert status(frame) == {"p": "", "a": "", "b": "subtraction", "c": "small"}

    def test_ties_are_broken_by_group_key_and_larger_siblings_go_first(self) -> None:
        tied = tree(("p", None, 12), ("team:2", "p", 5), ("team:1", "p", 5), ("rest", "p", 2))
        assert status(tied)["team:1"] == "" and status(tied)["team:2"] == "subtraction"
        larger_first = tree(("p", None, 11), ("a", "p", 5), ("b", "p", 6))
        assert status(larger_first) == {"p": "", "a": "", "b": ""}  # b (6) leaves 5, then a leaves 0

    def test_grandchild_is_checked_against_the_nearest_shown_ancestor(self) -> None:
        frame = tree(("root", None, 20), ("a", "root", 17), ("a1", "a", 15))
        assert status(frame) == {"root": "", "a": "subtraction", "a1": ""}  # 20 - 15 = 5: fine

    def test_a_hidden_root_hides_everything(self) -> None:
        assert set(status(tree(("r", None, 4), ("a", "r", 4))).values()) == {"small"}

    def test_by_partitions(self) -> None:
        frame = pd.DataFrame(
            {
                "q": ["x", "x", "y", "y"],
                "group": ["p", "a", "p", "a"],
                "parent": [None, "p", None, "p"],
                "n": [7, 5, 10, 5],
            }
        )
        kept = s.apply_group_floor(frame, M, count="n", by=["q"])
        assert list(zip(kept["q"], kept["group"], strict=True)) == [("x", "p"), ("y", "p"), ("y", "a")]

    def test_empty_results(self) -> None:
        empty = tree()
        assert s.apply_group_floor(empty, M).empty

    @pytest.mark.parametrize(
        ("frame", "message"),
        [
            (tree(("a", None, 5), ("a", None, 6)), r"group\(s\) \['a'\] appear twice"),
            (tree(("a", "zz", 5)), "parent 'zz' is not among the groups"),
            (tree(("a", "b", 5), ("b", "a", 5)), "cycle"),
            (
                tree(("p", None, 6), ("a", "p", 4), ("b", "p", 3)),
                "sub-groups hold 7 respondents, more than its own 6",
            ),
            (tree(("a", None, -1)), "whole number >= 0"),
            (tree(("a", None, 2.5)), "whole number >= 0"),
        ],
    )
    def test_bad_trees(self, frame: pd.DataFrame, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            s.floor_status(frame, M)

    def test_min_size_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="min_size must be at least 1"):
            s.floor_status(tree(("a", None, 3)), 0)


def random_tree(rng: random.Random) -> tuple[pd.DataFrame, dict[str, set[int]]]:
    """A random team tree with real respondent sets: each respondent is in one team (or only in root)."""
    n_teams = rng.randint(1, 9)
    parent = {"all": None} | {
        f"t{i}": rng.choice(["all", *[f"t{j}" for j in range(i)]]) for i in range(n_teams)
    }
    members: dict[str, set[int]] = {g: set() for g in parent}
    person = itertools.count()
    for group in parent:
        for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 12])):
            p, current = next(person), group
            while current is not None:
                members[current].add(p)
                current = parent[current]
    frame = pd.DataFrame(
        {
            "group": list(parent),
            "parent": list(parent.values()),
            "respondents": [len(members[g]) for g in parent],
        }
    )
    return frame, members


def check_no_small_group_derivable(
    shown: list[str], members: dict[str, set[int]], parent: dict[str, str | None], m: int
) -> None:
    for group in shown:
        assert len(members[group]) >= m, group
    # Any two shown groups: their difference is empty or at least m people.
    for a, b in itertools.permutations(shown, 2):
        assert len(members[a] - members[b]) == 0 or len(members[a] - members[b]) >= m, (a, b)
    # A shown group minus any set of disjoint shown groups inside it (a parent minus several children).
    for a in shown:
        inside = [b for b in shown if b != a and members[b] <= members[a]]
        for k in range(2, len(inside) + 1):
            for combo in itertools.combinations(inside, k):
                if any(members[x] & members[y] for x, y in itertools.combinations(combo, 2)):
                    continue
                left = len(members[a] - set().union(*(members[b] for b in combo)))
                assert left == 0 or left >= m, (a, combo, left)


@pytest.mark.parametrize("seed", range(300))
def test_no_group_below_the_floor_is_derivable_from_shown_groups(seed: int) -> None:
    rng = random.Random(seed)
    frame, members = random_tree(rng)
    parent = dict(zip(frame["group"], frame["parent"], strict=True))
    shown = list(s.apply_group_floor(frame, M)["group"])
    check_no_small_group_derivable(shown, members, parent, M)
    # Hiding any further shown group keeps the guarantee (why per-question floors may be stacked on top).
    for dropped in shown:
        check_no_small_group_derivable([g for g in shown if g != dropped], members, parent, M)


def test_the_rule_does_not_hide_more_than_it_must_on_a_simple_tree() -> None:
    frame, _ = tree(("all", None, 30), ("a", "all", 10), ("b", "all", 10), ("c", "all", 10)), None
    assert set(s.apply_group_floor(frame, M)["group"]) == {"all", "a", "b", "c"}


class TestStatistics:
    def test_canonical_tool(self) -> None:
        assert [s.canonical_tool(t) for t in ("copilot", " Claude  code ", "CURSOR", "Zed AI", "")] == [
            "GitHub Copilot",
            "Claude Code",
            "Cursor",
            "Zed AI",
            "",
        ]

    def test_round_results_exact(self) -> None:
        # Product(1) > Checkout(3) > Payments(4); Search(2) under Product.  6 in Checkout, 2 in Search.
        frame = responses(
            (3, 5, 4, 2.0, "copilot", "daily"),
            (3, 4, 4, 0.0, "Cursor", "weekly"),
            (3, 4, 2, None, "", "never"),
            (4, 3, 5, 12.0, "GitHub Copilot", "daily"),
            (4, 2, 3, None, "cursor", ""),
            (3, 1, 1, 4.0, "", "monthly"),
            (2, 5, 5, 30.0, "Claude Code", "daily"),
            (2, 5, 5, 30.0, "Claude Code", "daily"),
        )
        groups = s.group_tree(TEAMS, [1])
        result = s.round_results(frame, groups, members(team_1=1, team_2=3, team_3=5, team_4=2), min_size=M)
        g = result.groups.set_index("group")
        assert g["hidden"].to_dict() == {
            "all": "",
            "team:1": "",
            "team:3": "subtraction",
            "team:4": "small",
            "team:2": "small",
        }
        assert g.loc["all", "respondents"] == 8 and g.loc["all", "members"] == 11
        assert g.loc["all", "response_rate"] == pytest.approx(8 / 11)
        assert g["respondents"].isna().tolist() == [False, False, True, True, True]
        assert g["response_rate"].isna().tolist() == [False, False, True, True, True]
        means = result.means.set_index(["group", "question"])["mean"]
        assert set(result.means["group"]) == {"all", "team:1"}
        assert means["all", "overall_satisfaction"] == pytest.approx(29 / 8)
        assert means["all", "ease_of_shipping"] == pytest.approx(29 / 8)
        assert means["all", "ai_hours_saved_per_week"] == pytest.approx(78 / 6)
        ns = result.means.set_index(["group", "question"])["n"]
        assert ns["all", "ai_hours_saved_per_week"] == 6
        dist = result.distributions
        sat = dist[(dist["group"] == "all") & (dist["question"] == "overall_satisfaction")]
        assert list(sat["answer"]) == ["1", "2", "3", "4", "5"] and list(sat["count"]) == [1, 1, 1, 2, 3]
        assert sat["label"].iloc[0] == "1 · Very dissatisfied"
        assert sat["share"].sum() == pytest.approx(1.0)
        tools = dist[(dist["group"] == "all") & (dist["question"] == "ai_tool")]
        # Copilot 2, Claude Code 2, Cursor 2: a three-way tie, listed by name.
        assert list(zip(tools["answer"], tools["count"], strict=True)) == [
            ("Claude Code", 2),
            ("Cursor", 2),
            ("GitHub Copilot", 2),
        ]
        hours = dist[(dist["group"] == "all") & (dist["question"] == "ai_hours_saved_per_week")]
        assert dict(zip(hours["answer"], hours["count"], strict=True)) == {
            "0 h": 1,
            "up to 1 h": 0,
            "1-2 h": 1,
            "2-5 h": 1,
            "5-10 h": 0,
            "over 10 h": 3,
        }
        frequency = dist[(dist["group"] == "all") & (dist["question"] == "ai_frequency")]
        assert list(frequency["count"]) == [1, 1, 1, 4]  # never, monthly, weekly, daily; one blank

    def test_a_question_answered_by_too_few_is_hidden_in_a_shown_group(self) -> None:
        frame = responses(*[(1, 4, 4, 1.0 if i < 4 else None, "", "") for i in range(6)])
        result = s.round_results(frame, s.group_tree(TEAMS, [1]), members(team_1=6), min_size=M)
        assert result.shown("all") and result.shown("team:1")
        assert set(result.means["question"]) == {"overall_satisfaction", "ease_of_shipping"}
        assert "ai_hours_saved_per_week" not in set(result.distributions["question"])
        assert "ai_tool" not in set(result.distributions["question"])  # nobody named one

    def test_question_floor_also_applies_subtraction(self) -> None:
        # 10 in Product (1): 5 Checkout (3), 5 Search (2); hours answered by 5 in Checkout, 2 in Search.
        rows = [(3, 4, 4, 3.0, "", "")] * 5 + [(2, 4, 4, 1.0, "", "")] * 2 + [(2, 4, 4, None, "", "")] * 3
        result = s.round_results(responses(*rows), s.group_tree(TEAMS, [1]), members(), min_size=M)
        assert set(result.groups.query("hidden == ''")["group"]) == {"all", "team:1", "team:2", "team:3"}
        hours = result.means[result.means["question"] == "ai_hours_saved_per_week"]
        # 7 answered in Product, 5 in Checkout: showing Checkout would reveal Search's 2 -> Checkout hidden.
        assert dict(zip(hours["group"], hours["n"], strict=True)) == {"all": 7, "team:1": 7}

    def test_single_respondent(self) -> None:
        frame = responses((3, 2, 5, 1.5, "aider", "weekly"))
        groups = s.group_tree(TEAMS, [3])
        hidden = s.round_results(frame, groups, members(team_3=4), min_size=M)
        assert hidden.means.empty and hidden.distributions.empty
        assert hidden.groups["respondents"].isna().all()
        shown = s.round_results(frame, groups, members(team_3=4), min_size=1)
        means = shown.means.set_index(["group", "question"])["mean"]
        assert (
            means["team:3", "overall_satisfaction"] == 2.0
            and means["team:3", "ai_hours_saved_per_week"] == 1.5
        )
        assert shown.groups.set_index("group").loc["team:3", "response_rate"] == 0.25

    def test_no_responses_and_nobody_asked(self) -> None:
        frame = responses()
        result = s.round_results(frame, s.group_tree(TEAMS, [5]), members(), min_size=M)
        assert list(result.groups["hidden"]) == ["small", "small", "small"]
        assert list(result.groups["members"]) == [0, 0, 0]
        assert result.means.empty and result.distributions.empty

    def test_response_rate_counts_a_person_once_per_group(self) -> None:
        asked = pd.DataFrame({"person_id": [1, 1, 2, 3, 4, 5], "team_id": [2, 3, 3, 3, 3, 3]})
        frame = responses(*[(3, 3, 3, None, "", "")] * 5)
        result = s.round_results(frame, s.group_tree(TEAMS, [1]), asked, min_size=M)
        g = result.groups.set_index("group")
        assert g.loc["team:1", "members"] == 5 and g.loc["team:1", "response_rate"] == 1.0

    def test_comments_only_when_the_round_is_shown(self) -> None:
        frame = responses(*[(1, 4, 4, None, "", "")] * 5).assign(free_text=["b", " ", "A", "", "c\nd"])
        shown = s.round_results(frame, s.group_tree(TEAMS, [1]), members(), min_size=M)
        assert s.survey_comments(frame, shown) == ["A", "b", "c\nd"]
        hidden = s.round_results(frame.head(4), s.group_tree(TEAMS, [1]), members(), min_size=M)
        assert s.survey_comments(frame.head(4), hidden) == []


class TestTrends:
    def test_by_month_floored(self) -> None:
        march = responses(*[(1, v, 3, 2.0, "", "") for v in (1, 2, 3, 4, 5)], start="2025-03-20T10:00:00Z")
        april = responses(*[(1, 5, 5, None, "", "")] * 3, start="2025-04-02T10:00:00+02:00")
        frame = pd.concat([march, april], ignore_index=True).assign(response_id=range(1, 9))
        out = s.survey_trend(frame, by="month", min_size=M)
        assert list(out["period"]) == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-01")]
        first, second = out.iloc[0], out.iloc[1]
        assert (first["hidden"], first["respondents"], first["mean_overall_satisfaction"]) == ("", 5, 3.0)
        assert first["mean_ai_hours_saved_per_week"] == 2.0 and first["n_ai_hours_saved_per_week"] == 5
        assert second["hidden"] == "small" and pd.isna(second["respondents"])
        assert math.isnan(second["mean_overall_satisfaction"])

    def test_by_round(self) -> None:
        one = responses(*[(1, 4, 4, None, "", "")] * 5, round_id=7)
        two = responses(*[(1, 2, 4, None, "", "")] * 6, round_id=9)
        out = s.survey_trend(pd.concat([one, two], ignore_index=True), by="round", min_size=M)
        assert list(out["period"]) == [7, 9] and list(out["mean_overall_satisfaction"]) == [4.0, 2.0]
        assert out["mean_ai_hours_saved_per_week"].isna().all()  # nobody answered it

    def test_bad_partition(self) -> None:
        with pytest.raises(ValueError, match="by must be 'round' or 'month'"):
            s.survey_trend(responses(), by="week", min_size=M)

    def test_results_trend_statuses(self) -> None:
        now = s.round_results(
            responses(*[(3, 4, 4, None, "", "")] * 5), s.group_tree(TEAMS, [1]), members(), min_size=M
        )
        before = s.round_results(
            responses(*[(3, 2, 4, None, "", "")] * 6, round_id=0),
            s.group_tree(TEAMS, [3]),
            members(),
            min_size=M,
        )
        out = s.results_trend(now, [("before", before), ("now", now)], "overall_satisfaction")
        cells = {
            (g, r): (st, m)
            for g, r, st, m in zip(out["group"], out["round"], out["status"], out["mean"], strict=True)
        }
        assert cells["team:3", "before"] == ("shown", 2.0)
        assert cells["team:1", "before"][0] == "absent"
        assert cells["team:3", "now"][0] == "shown" and cells["team:3", "now"][1] == 4.0
        assert cells["team:2", "now"][0] == "hidden"


def test_the_property_check_catches_a_floor_without_the_subtraction_rule() -> None:
    """The random trees do exercise subtraction: hiding only small groups fails the check on some seeds."""
    caught, hidden_by_subtraction = 0, 0
    for seed in range(300):
        frame, members = random_tree(random.Random(seed))
        parent = dict(zip(frame["group"], frame["parent"], strict=True))
        hidden_by_subtraction += int((s.floor_status(frame, M) == "subtraction").sum())
        naive = list(frame[frame["respondents"] >= M]["group"])
        try:
            check_no_small_group_derivable(naive, members, parent, M)
        except AssertionError:
            caught += 1
    assert caught >= 30 and hidden_by_subtraction >= 30
