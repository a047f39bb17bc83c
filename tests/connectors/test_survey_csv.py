"""connectors.survey_csv: survey exports mapped onto the built-in questions (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.records import IdentityRecord, SurveyResponseRecord
from connectors.survey_csv import (
    SurveyMapping,
    mapping_from_file,
    mapping_from_pairs,
    read_survey_responses,
)
from tests.connectors.file_errors import permanent_error

TOOL_HEADER = "Response ID,Timestamp,Email,Group,How satisfied?,Shipping,Hours saved,Tool,How often,Comments"
TOOL_MAP = [
    "external_id=Response ID",
    "submitted_at=timestamp",
    "email=Email",
    "team=Group",
    "overall_satisfaction=How satisfied?",
    "ease_of_shipping=Shipping",
    "ai_hours_saved_per_week=Hours saved",
    "ai_tool=Tool",
    "ai_frequency=How often",
    "free_text=Comments",
]


def csv_file(tmp_path: Path, *lines: str, name: str = "answers.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def error_of(path: Path, mapping: SurveyMapping | None = None) -> str:
    return permanent_error(read_survey_responses, path, mapping)


class TestRows:
    def test_columns_named_like_fields_need_no_mapping(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "external_id,submitted_at,email,login,name,team,overall_satisfaction,ease_of_shipping,"
            "ai_hours_saved_per_week,ai_tool,ai_frequency,free_text",
            "r1,2025-03-01T10:00:00+01:00,ada@example.com,ada,Ada,Checkout,"
            '5,4,2.5,copilot,Daily,"Fine, thanks"',
        )
        assert read_survey_responses(path) == [
            SurveyResponseRecord(
                external_id="r1",
                respondent=IdentityRecord(name="Ada", email="ada@example.com", login="ada"),
                submitted_at=datetime(2025, 3, 1, 10, tzinfo=timezone(timedelta(hours=1))),
                team="Checkout",
                overall_satisfaction=5,
                ease_of_shipping=4,
                ai_hours_saved_per_week=2.5,
                ai_tool="copilot",
                ai_frequency="daily",
                free_text="Fine, thanks",
            )
        ]

    def test_mapping_pairs_case_insensitive_and_partial_answers(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, TOOL_HEADER, "9,2025-03-02,bob@example.com,Search,3,,,,,")
        records = read_survey_responses(path, mapping_from_pairs(TOOL_MAP))
        assert records == [
            SurveyResponseRecord(
                external_id="9",
                respondent=IdentityRecord(email="bob@example.com"),
                submitted_at=datetime(2025, 3, 2, tzinfo=UTC),
                team="Search",
                overall_satisfaction=3,
            )
        ]

    def test_mapping_file_with_value_tables_and_pairs_winning(self, tmp_path: Path) -> None:
        mapping_path = tmp_path / "mapping.json"
        mapping_path.write_text(
            json.dumps(
                {
                    "columns": {
                        "submitted_at": "Timestamp",
                        "overall_satisfaction": "Wrong column",
                        "ai_frequency": "Freq",
                    },
                    "values": {
                        "overall_satisfaction": {"Very satisfied": 5, "Meh": "3"},
                        "ai_frequency": {"Every day": "daily", "A few times a month": "monthly"},
                    },
                }
            ),
            encoding="utf-8",
        )
        mapping = mapping_from_pairs(["overall_satisfaction=Q1"], mapping_from_file(mapping_path))
        path = csv_file(
            tmp_path,
            "Timestamp,Q1,Freq",
            "2025-03-01,very SATISFIED,every day",
            "2025-03-02,4,A few times a month",
            "2025-03-03,meh,weekly",
        )
        records = read_survey_responses(path, mapping)
        assert [(r.overall_satisfaction, r.ai_frequency) for r in records] == [
            (5, "daily"),
            (4, "monthly"),
            (3, "weekly"),
        ]
        assert all(r.respondent is None for r in records)

    def test_flat_mapping_file(self, tmp_path: Path) -> None:
        mapping_path = tmp_path / "mapping.json"
        mapping_path.write_text('{"submitted_at": "When", "ease_of_shipping": "E"}', encoding="utf-8")
        assert mapping_from_file(mapping_path) == SurveyMapping(
            columns={"submitted_at": "When", "ease_of_shipping": "E"}, values={}
        )

    def test_an_explicitly_mapped_column_is_not_also_a_default(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,email,score", "2025-03-01,Ada Lovelace,4")
        records = read_survey_responses(
            path, mapping_from_pairs(["name=email", "overall_satisfaction=score"])
        )
        assert records[0].respondent == IdentityRecord(name="Ada Lovelace")

    def test_ids_without_an_id_column_are_stable(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "submitted_at,email,overall_satisfaction",
            "2025-03-01,Ada@Example.com,4",
            "2025-03-01,,4",
            "2025-03-02,,4",
        )
        first = read_survey_responses(path)
        assert first[0].external_id == "email:ada@example.com"
        assert first[1].external_id.startswith("sha256:") and first[1].external_id != first[2].external_id
        assert read_survey_responses(path) == first

    def test_byte_order_mark_and_quoted_newlines(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.csv"
        path.write_bytes('\ufeffsubmitted_at,free_text\n2025-03-01,"two\nlines"\n2025-03-02,x\n'.encode())
        assert [r.free_text for r in read_survey_responses(path)] == ["two\nlines", "x"]


class TestBadRows:
    def test_every_bad_row_is_reported_with_line_and_column(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            TOOL_HEADER,
            "1,2025-03-01T10:00:00Z,ada@example.com,Checkout,5,4,2.5,copilot,daily,ok",
            "2,2025-03-01 10:00,bob@example.com,Checkout,7,4,50,,sometimes,",
            '3,2025-03-02,not-an-email,Checkout,4,4,"two, five",,,',
            "4,2025-03-02,ADA@example.com,Checkout,3,3,,,,",
            "1,2025-03-02,cy@example.com,,2,,,,,",
            "5,2025-03-03,dee@example.com,Search,,,,,,",
        )
        message = error_of(path, mapping_from_pairs(TOOL_MAP))
        assert message == (
            f"{path}: 9 problems, fix them all and import again: "
            "line 3, column 'Timestamp': '2025-03-01 10:00' has no UTC offset (add one, such as Z or "
            "+02:00); "
            "line 3, column 'How satisfied?': '7' is not a whole number from 1 to 5 (map answer texts with "
            "'values'); "
            "line 3, column 'Hours saved': '50' is not between 0 and 40 hours per week; "
            "line 3, column 'How often': 'sometimes' is not one of never, monthly, weekly, daily (map answer "
            "texts with 'values'); "
            "line 4, column 'Email': 'not-an-email' is not an e-mail address; "
            "line 4, column 'Hours saved': 'two, five' is not a number of hours; "
            "line 5, column 'Email': ada@example.com already answered on line 2 (one response per person); "
            "line 6, column 'Response ID': response id '1' already appears on line 2; "
            "line 7, column 'How satisfied?': no answers: 'How satisfied?', 'Shipping', 'Hours saved', "
            "'Tool', 'How often', 'Comments' are all empty"
        )

    def test_one_problem_names_line_and_column(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,ease_of_shipping", "2025-03-01,4", "2025-02-30,4")
        assert error_of(path) == f"{path}, line 3, column 'submitted_at': '2025-02-30' is not a valid date"

    def test_missing_submitted_at_cell(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,ease_of_shipping", ",4")
        assert error_of(path) == f"{path}, line 2, column 'submitted_at': required, but empty"

    def test_copied_anonymous_row(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,ease_of_shipping", "2025-03-01,4", "2025-03-01,4")
        assert error_of(path) == (
            f"{path}, line 3, column 'submitted_at': the same time and answers already "
            "appear on line 2 (a copied row?)"
        )

    def test_mapped_column_missing_from_header(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "When,Score", "2025-03-01,4")
        message = error_of(path, mapping_from_pairs(["submitted_at=When", "overall_satisfaction=Q1"]))
        assert (
            message
            == f"{path}, line 1: the header lacks 'Q1' (for overall_satisfaction); it has 'When', 'Score'"
        )

    def test_no_submitted_at_column(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "overall_satisfaction", "4")
        assert "the header lacks a column for submitted_at (name one with --map submitted_at=COLUMN)" in (
            error_of(path)
        )

    def test_no_answer_column(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,email", "2025-03-01,a@example.com")
        assert error_of(path) == (
            f"{path}, line 1: no answer column found; map at least one of "
            "overall_satisfaction, ease_of_shipping, ai_hours_saved_per_week, ai_tool, "
            "ai_frequency, free_text"
        )

    def test_one_column_for_two_fields(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "submitted_at,Q", "2025-03-01,4")
        mapping = mapping_from_pairs(["overall_satisfaction=Q", "ease_of_shipping=q"])
        assert error_of(path, mapping) == (
            f"{path}: a column may hold one field only, but 'Q' is mapped to "
            "overall_satisfaction and ease_of_shipping"
        )

    def test_unreadable_files(self, tmp_path: Path) -> None:
        assert error_of(tmp_path / "missing.csv") == f"{tmp_path / 'missing.csv'}: no such file"
        latin = tmp_path / "latin.csv"
        latin.write_bytes(b"submitted_at,free_text\n2025-03-01,caf\xe9\n")
        assert "line 2, column 15: not UTF-8 (byte 0xe9)" in error_of(latin)


class TestMappingErrors:
    @pytest.mark.parametrize(
        ("pairs", "message"),
        [
            (
                ["overall=Q1"],
                "--map 'overall=Q1': unknown field 'overall'; the fields are external_id, email",
            ),
            (["overall_satisfaction"], "--map 'overall_satisfaction': expected field=Column"),
            (["overall_satisfaction= "], "expected field=Column"),
            (["ai_tool=A", "ai_tool=B"], "--map 'ai_tool=B': field 'ai_tool' is mapped twice"),
        ],
    )
    def test_bad_pairs(self, pairs: list[str], message: str) -> None:
        with pytest.raises(ConnectorError) as info:
            mapping_from_pairs(pairs)
        assert message in str(info.value)

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ('{"submitted_at": "A",\n "x": }', "line 2, column 7: malformed JSON"),
            ('["submitted_at"]', "expected a JSON object of field: column"),
            ('{"when": "A"}', "columns: unknown field 'when'"),
            ('{"submitted_at": ""}', "the column for 'submitted_at' must be a non-empty text"),
            ('{"columns": {}, "values": {"ai_tool": ["a"]}}', "values of 'ai_tool' must be an object"),
            ('{"columns": {}, "values": {"mood": {}}}', "values: unknown field 'mood'"),
        ],
    )
    def test_bad_mapping_files(self, tmp_path: Path, content: str, message: str) -> None:
        path = tmp_path / "mapping.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ConnectorError) as info:
            mapping_from_file(path)
        assert message in str(info.value)
