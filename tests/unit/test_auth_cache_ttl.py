"""The authorizer's cache TTL (AUTH_CACHE_TTL_S) is a setting: 0 to 300 seconds,
300 unless set, refused otherwise with an error that names it; the authorizer
reads it when it is imported (docs/auth.md, "Revocation")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.platform.config import ConfigError, auth_cache_ttl_from_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "seconds"), [(None, 300), ("", 300), ("0", 0), ("60", 60), (" 300 ", 300)])
def test_the_ttl_is_a_number_of_seconds_from_0_to_300_and_300_unless_set(value: str | None, seconds: int) -> None:
    assert auth_cache_ttl_from_env({} if value is None else {"AUTH_CACHE_TTL_S": value}) == seconds


@pytest.mark.parametrize("value", ["301", "3600", "-1", "1.5", "5m", "abc", "\u0663"])
def test_a_ttl_above_300_below_0_or_not_whole_seconds_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError, match=r"AUTH_CACHE_TTL_S must be a whole number of seconds from 0 to 300"):
        auth_cache_ttl_from_env({"AUTH_CACHE_TTL_S": value})


READ_TTL = """
from chalice import Chalice
from chalicelib.api import authorizer
app = Chalice("ttl")
app.register_blueprint(authorizer.bp)
print(app.builtin_auth_handlers[0].ttl_seconds)
"""


def imported_ttl(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUTH_CACHE_TTL_S"}
    if value is not None:
        env["AUTH_CACHE_TTL_S"] = value
    return subprocess.run(
        [sys.executable, "-c", READ_TTL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(("value", "seconds"), [(None, "300"), ("0", "0"), ("120", "120")])
def test_the_authorizer_reads_the_ttl_when_it_is_imported(value: str | None, seconds: str) -> None:
    result = imported_ttl(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == seconds


def test_an_authorizer_with_a_ttl_over_300_is_not_built() -> None:
    result = imported_ttl("900")
    assert result.returncode != 0
    assert "AUTH_CACHE_TTL_S must be a whole number of seconds from 0 to 300" in result.stderr
