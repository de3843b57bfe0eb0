"""The local gateway patches Chalice's internals: it refuses a Chalice it was not written for."""

from __future__ import annotations

import chalice
import pytest

from localdev.gateway import CHALICE_SERIES, check_chalice_version


def test_the_installed_chalice_is_the_series_the_gateway_was_written_for() -> None:
    assert chalice.__version__.startswith(CHALICE_SERIES)
    check_chalice_version()  # GIVEN the locked Chalice THEN nothing is refused


@pytest.mark.parametrize("other", ["1.31.4", "1.35.0", "2.0.0"])
def test_another_chalice_is_refused_with_what_to_do(other: str) -> None:
    with pytest.raises(RuntimeError) as refused:
        check_chalice_version(other)
    message = str(refused.value)
    assert other in message and CHALICE_SERIES in message
    assert "make test" in message and "requirements-dev.txt" in message
