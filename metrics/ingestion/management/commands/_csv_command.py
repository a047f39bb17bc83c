"""The base of the commands that import one CSV file through a connector's reader (the leading underscore
keeps Django from listing this module as a command)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import ConnectorError
from metrics.core.memory import fewer_collections

T = TypeVar("T")


class CsvFileCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv file")

    @staticmethod
    def read(reader: Callable[[Path], T], path: Path) -> T:
        """The file's records; a bad file is the reader's one-line error, nothing stored."""
        try:
            with fewer_collections():  # a large file: hundreds of thousands of records
                return reader(path)
        except ConnectorError as exc:
            raise CommandError(str(exc)) from exc
