# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the permission module on both permission APIs, against an in-memory MLflow."""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.modules.permission import main

ADMIN = {"auth_username": "admin", "auth_password": "admin-password"}
VERSIONS = [("3.17.2", "v3"), ("3.13.0", "v3"), ("3.12.0", "v2"), ("2.22.5", "v2")]


@pytest.fixture(params=VERSIONS, ids=[version for version, api in VERSIONS])
def server(request, fake):
    fake.version, api = request.param
    fake.users["bob"] = {"password": "bob-password-1", "is_admin": False, "id": 2}
    fake.add_experiment("exp")
    fake.add_model("m")
    return api


def grant_args(**kwargs):
    return dict(ADMIN, username="bob", **kwargs)


def test_check_mode_grant_writes_nothing(server, fake, run_module):
    result = run_module(main, grant_args(experiment_name="exp", permission="READ"), check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["after"] == {"username": "bob", "resource_type": "experiment", "resource_id": "1",
                                       "permission": "READ"}
    assert fake.grants == {}
    assert fake.writes == []


def test_grant_change_revoke(server, fake, run_module):
    granted = run_module(main, grant_args(registered_model="m", permission="READ"))
    again = run_module(main, grant_args(registered_model="m", permission="READ"))
    changed = run_module(main, grant_args(registered_model="m", permission="EDIT"))
    revoked = run_module(main, grant_args(registered_model="m", state="absent"))
    revoked_again = run_module(main, grant_args(registered_model="m", state="absent"))
    assert granted["changed"] is True
    assert granted["permission"] == {"username": "bob", "resource_type": "registered_model", "resource_id": "m",
                                     "permission": "READ", "api": server}
    assert again["changed"] is False
    assert changed["changed"] is True
    assert changed["diff"]["before"]["permission"] == "READ"
    assert changed["permission"]["permission"] == "EDIT"
    assert revoked["changed"] is True
    assert revoked["permission"] == {}
    assert revoked_again["changed"] is False
    assert fake.grants == {}


def test_api_endpoints_follow_the_version(server, fake, run_module):
    run_module(main, grant_args(experiment_id="1", permission="MANAGE"))
    paths = [write[1] for write in fake.writes]
    if server == "v3":
        assert paths == ["/api/3.0/mlflow/users/permissions/grant"]
    else:
        assert paths == ["/api/2.0/mlflow/experiments/permissions/create"]


def test_v3_level_change_is_in_place(fake, run_module):
    fake.users["bob"] = {"password": "bob-password-1", "is_admin": False, "id": 2}
    fake.grants[("bob", "experiment", "1")] = "READ"
    result = run_module(main, grant_args(experiment_id="1", permission="EDIT"))
    assert result["changed"] is True
    assert fake.writes == [("PATCH", "/api/3.0/mlflow/roles/permissions/update")]
    assert fake.grants == {("bob", "experiment", "1"): "EDIT"}


def test_forced_api(fake, run_module):
    fake.version = "3.12.0"
    fake.users["bob"] = {"password": "bob-password-1", "is_admin": False, "id": 2}
    result = run_module(main, grant_args(experiment_id="1", permission="READ", api="v2"))
    assert result["permission"]["api"] == "v2"
    assert not any(call[1] == "/version" for call in fake.calls)


def test_missing_experiment(fake, run_module):
    fake.users["bob"] = {"password": "bob-password-1", "is_admin": False, "id": 2}
    absent = run_module(main, grant_args(experiment_name="nope", state="absent"))
    present = run_module(main, grant_args(experiment_name="nope", permission="READ"))
    assert absent["changed"] is False
    assert present["failed"] is True
    assert "does not exist" in present["msg"]


def test_one_resource_required(fake, run_module):
    result = run_module(main, grant_args(permission="READ"))
    assert result["failed"] is True
    assert "one of the following is required" in result["msg"]


def test_permission_required_when_present(fake, run_module):
    result = run_module(main, grant_args(experiment_id="1"))
    assert result["failed"] is True
    assert "permission" in result["msg"]
