# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the user module against an in-memory MLflow."""

from __future__ import annotations

import json

from ansible_collections.mlops.mlflow.plugins.modules.user import main

ADMIN = {"auth_username": "admin", "auth_password": "admin-password"}
PASSWORD = "alice-password-1"


def test_check_mode_create_writes_nothing(fake, run_module):
    result = run_module(main, dict(ADMIN, name="alice", password=PASSWORD), check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["after"] == {"username": "alice", "is_admin": False}
    assert "alice" not in fake.users
    assert fake.writes == []


def test_create_then_unchanged_by_logging_in(fake, run_module):
    created = run_module(main, dict(ADMIN, name="alice", password=PASSWORD))
    again = run_module(main, dict(ADMIN, name="alice", password=PASSWORD))
    logins = [call for call in fake.calls if call[4] == ("alice", PASSWORD)]
    assert created["changed"] is True
    assert created["user"]["username"] == "alice"
    assert fake.users["alice"]["password"] == PASSWORD
    assert again["changed"] is False
    assert fake.writes == []
    assert logins, "the password is checked by authenticating as the user"


def test_wrong_password_is_changed(fake, run_module):
    fake.users["alice"] = {"password": "old-password-1", "is_admin": False, "id": 2}
    result = run_module(main, dict(ADMIN, name="alice", password=PASSWORD))
    assert result["changed"] is True
    assert result["diff"]["before"] == {"username": "alice", "is_admin": False, "password_matches": False}
    assert result["diff"]["after"] == {"username": "alice", "is_admin": False, "password_matches": True}
    assert fake.users["alice"]["password"] == PASSWORD


def test_on_create_does_not_check_the_password(fake, run_module):
    fake.users["alice"] = {"password": "old-password-1", "is_admin": False, "id": 2}
    result = run_module(main, dict(ADMIN, name="alice", password=PASSWORD, update_password="on_create"))
    assert result["changed"] is False
    assert fake.users["alice"]["password"] == "old-password-1"
    assert all(call[4] is None for call in fake.calls)


def test_admin_flag(fake, run_module):
    fake.users["alice"] = {"password": PASSWORD, "is_admin": False, "id": 2}
    checked = run_module(main, dict(ADMIN, name="alice", admin=True), check_mode=True)
    promoted = run_module(main, dict(ADMIN, name="alice", admin=True))
    assert checked["changed"] is True
    assert promoted["changed"] is True
    assert promoted["user"]["is_admin"] is True
    assert fake.writes == [("PATCH", "/api/2.0/mlflow/users/update-admin")]


def test_create_admin(fake, run_module):
    result = run_module(main, dict(ADMIN, name="root2", password=PASSWORD, admin=True))
    assert result["changed"] is True
    assert fake.users["root2"]["is_admin"] is True


def test_create_needs_a_password(fake, run_module):
    result = run_module(main, dict(ADMIN, name="alice"))
    assert result["failed"] is True
    assert "password is required" in result["msg"]


def test_password_never_in_the_result(fake, run_module):
    fake.users["alice"] = {"password": "old-password-1", "is_admin": False, "id": 2}
    result = run_module(main, dict(ADMIN, name="alice", password=PASSWORD))
    assert PASSWORD not in json.dumps(result)
    assert "admin-password" not in json.dumps(result)


def test_delete_and_delete_again(fake, run_module):
    fake.users["alice"] = {"password": PASSWORD, "is_admin": False, "id": 2}
    deleted = run_module(main, dict(ADMIN, name="alice", state="absent"))
    again = run_module(main, dict(ADMIN, name="alice", state="absent"))
    assert deleted["changed"] is True
    assert deleted["user"] == {}
    assert "alice" not in fake.users
    assert again["changed"] is False


def test_delete_on_mlflow_2_revokes_grants_first(fake, run_module):
    fake.version = "2.22.5"
    fake.users["alice"] = {"password": PASSWORD, "is_admin": False, "id": 2}
    fake.grants[("alice", "experiment", "1")] = "READ"
    fake.grants[("alice", "registered_model", "m")] = "EDIT"
    result = run_module(main, dict(ADMIN, name="alice", state="absent"))
    assert result["changed"] is True
    assert fake.grants == {}
    assert "alice" not in fake.users
