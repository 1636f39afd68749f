# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of plugins/module_utils/mlflow_store.py that need no MLflow (the rest: tests/integration)."""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.module_utils import mlflow_store


def test_unread_names_are_those_no_string_literal_mentions():
    source = 'FILE_STORE = "_MLFLOW_SERVER_FILE_STORE"\nos.environ.get(\'_MLFLOW_SGI_NAME\')\n# _MLFLOW_STATIC_PREFIX in a comment\n'
    names = ["_MLFLOW_SERVER_FILE_STORE", "_MLFLOW_SGI_NAME", "_MLFLOW_STATIC_PREFIX", "_MLFLOW_SERVER"]
    assert mlflow_store.unread_names(names, source) == ["_MLFLOW_STATIC_PREFIX", "_MLFLOW_SERVER"]


@pytest.mark.parametrize("version, tables", [
    ("2.22.5", ["alembic_version"]),
    ("3.5.1", ["alembic_version"]),
    ("3.6.0", ["alembic_version_auth", "alembic_version"]),
    ("3.6.0.dev0", ["alembic_version_auth", "alembic_version"]),
    ("3.17.2", ["alembic_version_auth", "alembic_version"]),
])
def test_the_auth_revision_moved_to_its_own_table_in_3_6(version, tables):
    assert mlflow_store.auth_version_tables(version) == tables


@pytest.mark.parametrize("view, changes", [
    ({"exists": False}, ["admin created"]),
    ({"exists": True, "is_admin": True, "password": "configured"}, []),
    ({"exists": True, "is_admin": True, "password": "other"}, ["admin password set"]),
    ({"exists": True, "is_admin": False, "password": "configured"}, ["admin flag set"]),
    ({"exists": True, "is_admin": False, "password": "other"}, ["admin password set", "admin flag set"]),
])
def test_admin_changes(view, changes):
    assert mlflow_store.admin_changes(view) == changes


def test_a_missing_uri_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(mlflow_store.URI_VARIABLE, raising=False)
    with pytest.raises(mlflow_store.StoreError) as error:
        mlflow_store.tracking_uri()
    assert "_MLFLOW_SERVER_FILE_STORE is not set" in str(error.value)
