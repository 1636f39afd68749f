# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the experiment module against an in-memory MLflow."""

from __future__ import annotations

from ansible_collections.mlops.mlflow.plugins.modules.experiment import main


def test_check_mode_create_writes_nothing(fake, run_module):
    result = run_module(main, {"name": "exp", "tags": {"team": "risk"}}, check_mode=True)
    assert result["changed"] is True
    assert result["experiment"] == {}
    assert result["diff"] == {"before": {}, "after": {"name": "exp", "description": "", "tags": {"team": "risk"}}}
    assert fake.writes == []
    assert fake.experiments == {}


def test_create_then_unchanged(fake, run_module):
    args = {"name": "exp", "description": "notes", "tags": {"team": "risk", "n": 1}}
    created = run_module(main, args)
    again = run_module(main, args)
    stored = fake.experiments["1"]
    assert created["changed"] is True
    assert created["experiment"]["name"] == "exp"
    assert stored["tags"] == {"team": "risk", "n": "1", "mlflow.note.content": "notes"}
    assert again["changed"] is False
    assert fake.writes == []


def test_update_purges_user_tags_but_not_mlflow_tags(fake, run_module):
    fake.add_experiment("exp", {"old": "1", "keep": "x", "mlflow.user": "bob", "mlflow.note.content": "d"})
    result = run_module(main, {"name": "exp", "tags": {"keep": "y"}})
    assert result["changed"] is True
    assert fake.experiments["1"]["tags"] == {"keep": "y", "mlflow.user": "bob", "mlflow.note.content": "d"}
    assert result["diff"]["before"]["tags"] == {"old": "1", "keep": "x", "mlflow.user": "bob"}
    assert result["diff"]["after"]["tags"] == {"keep": "y", "mlflow.user": "bob"}


def test_update_without_purge_keeps_tags(fake, run_module):
    fake.add_experiment("exp", {"old": "1"})
    result = run_module(main, {"name": "exp", "tags": {"new": "2"}, "purge_tags": False})
    assert result["changed"] is True
    assert fake.experiments["1"]["tags"] == {"old": "1", "new": "2"}


def test_tags_left_alone_when_not_given(fake, run_module):
    fake.add_experiment("exp", {"old": "1"})
    result = run_module(main, {"name": "exp", "description": ""})
    assert result["changed"] is False
    assert fake.writes == []


def test_check_mode_update_shows_diff_and_writes_nothing(fake, run_module):
    fake.add_experiment("exp", {"mlflow.note.content": "old"})
    result = run_module(main, {"name": "exp", "description": "new"}, check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["description"] == "old"
    assert result["diff"]["after"]["description"] == "new"
    assert result["experiment"]["tags"] == [{"key": "mlflow.note.content", "value": "old"}]
    assert fake.writes == []


def test_deleted_experiment_is_restored(fake, run_module):
    fake.add_experiment("exp", {"team": "risk"}, lifecycle_stage="deleted")
    result = run_module(main, {"name": "exp", "tags": {"owner": "alice"}, "purge_tags": False})
    assert result["changed"] is True
    assert result["experiment"]["lifecycle_stage"] == "active"
    assert fake.experiments["1"]["tags"] == {"team": "risk", "owner": "alice"}
    assert ("POST", "/api/2.0/mlflow/experiments/restore") in fake.writes
    assert ("POST", "/api/2.0/mlflow/experiments/create") not in fake.writes


def test_artifact_location_cannot_change(fake, run_module):
    fake.add_experiment("exp", artifact_location="s3://a/b")
    result = run_module(main, {"name": "exp", "artifact_location": "s3://other"})
    assert result["failed"] is True
    assert "cannot change" in result["msg"]
    assert fake.writes == []


def test_same_artifact_location_in_another_spelling(fake, run_module):
    fake.add_experiment("exp", artifact_location="file:///data/exp")
    result = run_module(main, {"name": "exp", "artifact_location": "/data/exp/"})
    assert result["changed"] is False


def test_delete_and_delete_again(fake, run_module):
    fake.add_experiment("exp")
    deleted = run_module(main, {"name": "exp", "state": "absent"})
    again = run_module(main, {"name": "exp", "state": "absent"})
    assert deleted["changed"] is True
    assert deleted["experiment"] == {}
    assert fake.experiments["1"]["lifecycle_stage"] == "deleted"
    assert again["changed"] is False
    assert fake.writes == []


def test_tag_purge_on_mlflow_2_fails_clearly(fake, run_module):
    fake.version = "2.22.5"
    fake.add_experiment("exp", {"old": "1"})
    result = run_module(main, {"name": "exp", "tags": {}})
    assert result["failed"] is True
    assert "purge_tags=false" in result["msg"]
