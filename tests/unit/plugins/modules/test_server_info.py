# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the server_info module against an in-memory MLflow."""

from __future__ import annotations

from ansible_collections.mlops.mlflow.plugins.module_utils.client import MlflowApiError
from ansible_collections.mlops.mlflow.plugins.modules.server_info import main

ADMIN = {"auth_username": "admin", "auth_password": "admin-password"}


def test_facts_of_a_3_17_server_with_auth(fake, run_module):
    result = run_module(main, ADMIN, check_mode=True)
    info = result["server_info"]
    assert result["changed"] is False
    assert info["healthy"] is True
    assert info["version"] == "3.17.2"
    assert info["auth_enabled"] is True
    assert info["permission_api"] == "v3"
    assert info["facts"] == {"store_type": "SqlStore"}


def test_facts_of_a_2_22_server_without_auth(fake, run_module):
    fake.version = "2.22.5"
    fake.auth = False
    info = run_module(main, {})["server_info"]
    assert info["auth_enabled"] is False
    assert info["permission_api"] == "v2"
    assert info["facts"] is None


def test_unreachable_server_is_reported(fake, run_module):
    fake.healthy = False
    result = run_module(main, {})
    assert result["failed"] is False
    assert result["server_info"]["healthy"] is False


def test_wait_for_a_server_that_comes_up(fake, run_module):
    down = MlflowApiError("cannot reach", status=None)
    fake.failures[("GET", "/health")] = [down, down, down]
    result = run_module(main, dict(ADMIN, wait_for=True, expected_version="3.17.2"))
    health_calls = [c for c in fake.calls if c[1] == "/health"]
    assert result["failed"] is False
    assert result["server_info"]["healthy"] is True
    assert len(health_calls) == 4


def test_wait_gives_up(fake, run_module):
    fake.healthy = False
    result = run_module(main, dict(ADMIN, wait_for=True, wait_timeout=0))
    assert result["failed"] is True
    assert "not healthy" in result["msg"]


def test_wrong_version_fails(fake, run_module):
    result = run_module(main, dict(ADMIN, expected_version="3.18.0"))
    assert result["failed"] is True
    assert "expected '3.18.0'" in result["msg"]
    assert result["server_info"]["version"] == "3.17.2"


def test_version_without_credentials_is_a_warning(fake, run_module):
    fake.failures[("GET", "/version")] = [MlflowApiError("Unauthorized", status=401),
                                          MlflowApiError("Unauthorized", status=401)]
    result = run_module(main, {})
    assert result["failed"] is False
    assert result["server_info"]["auth_enabled"] is True
    assert result["server_info"]["version"] == ""
    assert result["warnings"]
