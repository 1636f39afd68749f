# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment file parser the minio and mlflow modules read the roles' files with."""

from __future__ import annotations

import os

from ansible_collections.mlops.mlflow.plugins.module_utils.env_file import load_env_file, parse_env_text, read_env_file


def test_quoted_values_lose_their_quotes_and_escapes():
    text = '# managed\n\nA="plain"\nB="with \\"quote\\" and \\\\ backslash"\nC=unquoted value\nD=""\nnot a line\n'
    assert parse_env_text(text) == {"A": "plain", "B": 'with "quote" and \\ backslash', "C": "unquoted value", "D": ""}


def test_only_the_first_equals_sign_splits():
    assert parse_env_text('URI="postgresql+psycopg2://u:p%3D@h/db?sslmode=prefer"') == {
        "URI": "postgresql+psycopg2://u:p%3D@h/db?sslmode=prefer"}


def test_load_puts_the_variables_into_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "mlflow.env"
    path.write_text('MLOPS_TEST_VARIABLE="x\\"y"\n', encoding="utf-8")
    monkeypatch.delenv("MLOPS_TEST_VARIABLE", raising=False)
    loaded = load_env_file(str(path))
    value = os.environ.get("MLOPS_TEST_VARIABLE")
    monkeypatch.delenv("MLOPS_TEST_VARIABLE")
    assert loaded == read_env_file(str(path)) == {"MLOPS_TEST_VARIABLE": 'x"y'}
    assert value == 'x"y'
