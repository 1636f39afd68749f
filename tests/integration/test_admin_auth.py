# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's `mlflow-admin.py auth` against real MLflow installs, on a sqlite auth database.

It prepares the auth database before the workers start and rotates the admin password; check mode
must predict every change and make none.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELPER = REPO / "roles" / "mlflow" / "files" / "mlflow-admin.py"
VENVS = Path(os.environ.get("MLFLOW_VENVS_DIR", REPO / ".cache" / "mlflow-venvs"))
VERSIONS = ["3.17.2", "2.22.5"]


@pytest.fixture(scope="module", autouse=True)
def venvs():
    env = dict(os.environ, MLFLOW_TEST_VERSIONS=" ".join(VERSIONS), MLFLOW_VENVS_DIR=str(VENVS))
    subprocess.run([str(REPO / "scripts" / "mlflow-test-venvs.sh")], env=env, check=True)


class AuthDatabase(object):
    def __init__(self, directory, version):
        self.version = version
        self.database = directory / "auth.db"
        self.ini = directory / "basic_auth.ini"

    def configure(self, password):
        self.password = password
        # "%%": the role writes the ini for configparser's interpolation, like this.
        self.ini.write_text("[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///%s\n"
                            "admin_username = admin\nadmin_password = %s\n" % (self.database, password.replace("%", "%%")))

    def helper(self, *args, version=None):
        python = VENVS / (version or self.version) / "bin" / "python"
        env = dict(os.environ, MLFLOW_AUTH_CONFIG_PATH=str(self.ini))
        result = subprocess.run([str(python), str(HELPER), "auth", *args], env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        assert self.password not in result.stdout + result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def tables(self):
        with sqlite3.connect(self.database) as connection:
            return [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def admin(self):
        with sqlite3.connect(self.database) as connection:
            return connection.execute("SELECT password_hash, is_admin FROM users WHERE username = 'admin'").fetchone()


@pytest.mark.parametrize("version", VERSIONS)
def test_prepare_then_nothing_to_do(tmp_path, version):
    auth = AuthDatabase(tmp_path, version)
    auth.configure("first-Password%1")

    planned = auth.helper("--check")
    assert planned["changed"] is True and planned["schema_from"] is None
    assert "users" not in auth.tables(), "check mode created nothing"

    done = auth.helper()
    assert done["changed"] is True and done["changes"] == ["schema", "admin created"]
    stored = auth.admin()
    assert stored[1] in (1, True)

    for args in (["--check"], []):
        again = auth.helper(*args)
        assert again["changed"] is False and again["schema_from"] == again["schema_head"]
    assert auth.admin() == stored


@pytest.mark.parametrize("version", VERSIONS)
def test_rotating_the_admin_password(tmp_path, version):
    auth = AuthDatabase(tmp_path, version)
    auth.configure("first-Password%1")
    auth.helper()
    before = auth.admin()

    auth.configure("second-Password%2")
    assert auth.helper("--check")["changes"] == ["admin password set"]
    assert auth.admin() == before, "check mode changed nothing"
    assert auth.helper()["changes"] == ["admin password set"]
    after = auth.admin()
    assert after[0] != before[0]
    assert auth.helper()["changed"] is False
    assert auth.admin() == after


def test_upgrade_from_2_22_to_3_17(tmp_path):
    auth = AuthDatabase(tmp_path, "2.22.5")
    auth.configure("first-Password%1")
    old = auth.helper()["schema_head"]
    stored = auth.admin()

    planned = auth.helper("--check", version="3.17.2")
    assert planned["changes"] == ["schema"] and planned["schema_from"] == old
    upgraded = auth.helper(version="3.17.2")
    assert upgraded["changes"] == ["schema"] and upgraded["schema_head"] != old
    assert auth.helper(version="3.17.2")["changed"] is False
    assert auth.admin()[0] == stored[0], "the admin and its password survive the upgrade"
