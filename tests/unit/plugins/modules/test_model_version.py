# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of the model_version module against an in-memory MLflow."""

from __future__ import annotations

from ansible_collections.mlops.mlflow.plugins.modules.model_version import main

SOURCE = "mlflow-artifacts:/1/run1/artifacts/model"


def test_check_mode_register_writes_nothing(fake, run_module):
    fake.add_model("m")
    result = run_module(main, {"name": "m", "source": SOURCE, "run_id": "run1"}, check_mode=True)
    assert result["changed"] is True
    assert result["model_version"] == {}
    assert result["diff"]["after"]["source"] == SOURCE
    assert fake.versions == {}
    assert fake.writes == []


def test_register_once(fake, run_module):
    fake.add_model("m")
    args = {"name": "m", "source": SOURCE, "run_id": "run1", "tags": {"k": "v"}, "aliases": ["champion"]}
    created = run_module(main, args)
    again = run_module(main, args)
    assert created["changed"] is True
    assert created["model_version"]["version"] == "1"
    assert created["model_version"]["status"] == "READY"
    assert created["model_version"]["aliases"] == ["champion"]
    assert again["changed"] is False
    assert again["model_version"]["version"] == "1"
    assert fake.writes == []
    assert len(fake.versions) == 1


def test_existing_version_found_across_pages(fake, run_module):
    fake.add_model("m")
    for number in range(5):
        fake.add_version("m", "s3://other/%d" % number, "run1")
    fake.add_version("m", SOURCE, "run1")
    result = run_module(main, {"name": "m", "source": SOURCE, "run_id": "run1"})
    assert result["changed"] is False
    assert result["model_version"]["version"] == "6"


def test_newest_matching_version_wins(fake, run_module):
    fake.add_model("m")
    fake.add_version("m", SOURCE, "run1")
    fake.add_version("m", SOURCE, "run1")
    result = run_module(main, {"name": "m", "source": SOURCE, "run_id": "run1", "description": "x"})
    assert result["model_version"]["version"] == "2"
    assert fake.versions[("m", "1")]["description"] == ""


def test_same_source_other_run_registers_new_version(fake, run_module):
    fake.add_model("m")
    fake.add_version("m", SOURCE, "run1")
    result = run_module(main, {"name": "m", "source": SOURCE, "run_id": "run2"})
    assert result["changed"] is True
    assert result["model_version"]["version"] == "2"


def test_version_without_run_matches_only_without_run_id(fake, run_module):
    fake.add_model("m")
    fake.add_version("m", "s3://b/model", "run1")
    result = run_module(main, {"name": "m", "source": "s3://b/model"})
    assert result["changed"] is True
    assert result["model_version"]["run_id"] == ""


def test_update_by_number(fake, run_module):
    fake.add_model("m", aliases={"old": "1"})
    fake.add_version("m", SOURCE, "run1", tags={"a": "1", "mlflow.x": "y"})
    args = {"name": "m", "version": "1", "description": "new", "tags": {"b": "2"}, "aliases": ["champion"],
            "stage": "Production"}
    result = run_module(main, args)
    stored = fake.versions[("m", "1")]
    assert result["changed"] is True
    assert stored["description"] == "new"
    assert stored["tags"] == {"b": "2", "mlflow.x": "y"}
    assert stored["current_stage"] == "Production"
    assert fake.models["m"]["aliases"] == {"champion": "1"}
    assert result["diff"]["before"]["aliases"] == ["old"]
    assert result["diff"]["after"]["aliases"] == ["champion"]


def test_alias_moves_from_another_version(fake, run_module):
    fake.add_model("m", aliases={"champion": "1"})
    fake.add_version("m", "s3://a")
    fake.add_version("m", "s3://b")
    result = run_module(main, {"name": "m", "version": "2", "aliases": ["champion"]})
    assert result["changed"] is True
    assert fake.models["m"]["aliases"] == {"champion": "2"}


def test_missing_version_number_without_source_fails(fake, run_module):
    fake.add_model("m")
    result = run_module(main, {"name": "m", "version": "9"})
    assert result["failed"] is True
    assert "set source" in result["msg"]


def test_version_number_with_other_source_fails(fake, run_module):
    fake.add_model("m")
    fake.add_version("m", "s3://a")
    result = run_module(main, {"name": "m", "version": "1", "source": "s3://b"})
    assert result["failed"] is True
    assert "has source" in result["msg"]


def test_version_or_source_required(fake, run_module):
    result = run_module(main, {"name": "m"})
    assert result["failed"] is True
    assert "version, source" in result["msg"]


def test_delete_and_delete_again(fake, run_module):
    fake.add_model("m")
    fake.add_version("m", SOURCE, "run1")
    args = {"name": "m", "source": SOURCE, "run_id": "run1", "state": "absent"}
    deleted = run_module(main, args)
    again = run_module(main, args)
    assert deleted["changed"] is True
    assert fake.versions == {}
    assert again["changed"] is False
