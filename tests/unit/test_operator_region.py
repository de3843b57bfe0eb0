"""The region a user sets is the region every command uses: AWS_REGION, AWS_DEFAULT_REGION or a profile's."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.platform.config import ConfigError, require_aws
from infra.cloudformation import StackError
from infra.session import checked_session, operator_session

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}


@pytest.fixture()
def no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A shell with no AWS variables and no ~/.aws files."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "region"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "eu-central-1"}, "eu-central-1"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "eu-west-1"),  # as the AWS SDKs do
    ],
)
def test_the_operator_tools_take_the_region_from_either_variable(
    no_aws_settings: pytest.MonkeyPatch, variables: dict[str, str], region: str
) -> None:
    for name, value in variables.items():
        no_aws_settings.setenv(name, value)
    assert checked_session(operator_session()).region_name == region


def test_a_profiles_region_is_used_when_no_variable_says_one(
    no_aws_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text("[profile shop]\nregion = ap-southeast-2\n")
    no_aws_settings.setenv("AWS_PROFILE", "shop")
    assert checked_session(operator_session()).region_name == "ap-southeast-2"


def test_no_region_anywhere_says_how_to_set_one(no_aws_settings: pytest.MonkeyPatch) -> None:
    with pytest.raises(StackError, match="export AWS_REGION="):
        checked_session(operator_session())


def test_the_app_on_a_cloud_stage_accepts_aws_region_alone(no_aws_settings: pytest.MonkeyPatch) -> None:
    """`chalice local --stage dev` with only AWS_REGION: boto3's clients get it too."""
    environ = {"STAGE": "dev", "AWS_REGION": "eu-west-1", **KEYS}
    require_aws(environ)
    assert environ["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_the_app_on_a_cloud_stage_without_a_region_says_which_variable_to_set(
    no_aws_settings: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="set AWS_REGION"):
        require_aws({"STAGE": "dev", **KEYS})
