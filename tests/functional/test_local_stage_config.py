"""Stage local finds a running stack's AWS by itself; without one it says what to start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.platform.config import ConfigError, local_stack_file, require_aws


def write_stack_file(data_dir: Path, pid: int) -> None:
    environment = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5999", "AWS_ACCESS_KEY_ID": "local", "COGNITO_CLIENT_ID": "c1"}
    stack_file = local_stack_file({"LOCAL_DATA_DIR": str(data_dir)})
    stack_file.write_text(json.dumps({"pid": pid, "environment": environment}))


def test_stage_local_takes_the_running_stacks_aws_and_keeps_what_is_set(tmp_path: Path) -> None:
    write_stack_file(tmp_path, os.getpid())
    env = {"STAGE": "local", "LOCAL_DATA_DIR": str(tmp_path), "AWS_ACCESS_KEY_ID": "real", "COGNITO_CLIENT_ID": "mine"}

    require_aws(env)

    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert env["AWS_ACCESS_KEY_ID"] == "local"  # only the embedded AWS's credentials go to it
    assert env["COGNITO_CLIENT_ID"] == "mine"


def test_a_stack_file_left_by_a_stopped_stack_is_a_503_saying_what_to_start(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_stack_file(tmp_path, int(finished.stdout))

    with pytest.raises(ConfigError) as refused:
        require_aws({"STAGE": "local", "LOCAL_DATA_DIR": str(tmp_path)})

    assert refused.value.status == 503
    assert "`make run`" in refused.value.message and "`make aws`" in refused.value.message


def test_a_cloud_stage_without_a_region_is_a_503_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))

    with pytest.raises(ConfigError) as refused:
        require_aws({"STAGE": "dev"})

    assert "stage dev has no AWS region" in refused.value.message
