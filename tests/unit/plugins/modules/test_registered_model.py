# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the registered_model module against an in-memory MLflow."""

from __future__ import annotations

from ansible_collections.mlops.mlflow.plugins.modules.registered_model import main


def test_check_mode_create_writes_nothing(fake, run_module):
    result = run_module(main, {"name": "m", "description": "d"}, check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["after"] == {"name": "m", "description": "d", "tags": {}, "aliases": {}}
    assert fake.models == {}
    assert fake.writes == []


def test_create_then_unchanged(fake, run_module):
    args = {"name": "m", "description": "d", "tags": {"team": "risk"}}
    created = run_module(main, args)
    again = run_module(main, args)
    assert created["changed"] is True
    assert created["registered_model"]["tags"] == [{"key": "team", "value": "risk"}]
    assert again["changed"] is False
    assert fake.writes == []


def test_aliases_are_set_moved_and_purged(fake, run_module):
    fake.add_model("m", aliases={"old": "1", "champion": "1"})
    fake.add_version("m", "s3://a")
    fake.add_version("m", "s3://b")
    result = run_module(main, {"name": "m", "aliases": {"champion": 2, "challenger": "1"}})
    assert result["changed"] is True
    assert fake.models["m"]["aliases"] == {"champion": "2", "challenger": "1"}
    assert result["diff"]["before"]["aliases"] == {"old": "1", "champion": "1"}


def test_aliases_kept_without_purge(fake, run_module):
    fake.add_model("m", aliases={"old": "1"})
    fake.add_version("m", "s3://a")
    result = run_module(main, {"name": "m", "aliases": {"new": 1}, "purge_aliases": False})
    assert result["changed"] is True
    assert fake.models["m"]["aliases"] == {"old": "1", "new": "1"}


def test_description_update(fake, run_module):
    fake.add_model("m", description="old")
    result = run_module(main, {"name": "m", "description": "new"})
    assert result["changed"] is True
    assert fake.models["m"]["description"] == "new"
    assert fake.writes == [("PATCH", "/api/2.0/mlflow/registered-models/update")]


def test_delete_and_delete_again(fake, run_module):
    fake.add_model("m")
    deleted = run_module(main, {"name": "m", "state": "absent"})
    again = run_module(main, {"name": "m", "state": "absent"})
    assert deleted["changed"] is True
    assert deleted["registered_model"] == {}
    assert "m" not in fake.models
    assert again["changed"] is False
