"""The one way the file-reader tests read a bad file: it must fail permanently, with one message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import ConnectorError


def permanent_error(read: Callable[..., Any], *args: Any) -> str:
    """The message of the ConnectorError that ``read(*args)`` raises, asserted permanent (a bad file
    does not get better by retrying)."""
    with pytest.raises(ConnectorError) as info:
        read(*args)
    assert info.value.permanent
    return str(info.value)
