# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mlops.mlflow.auth_database module against real MLflow installs, on a sqlite auth database.

It prepares the auth database before the workers start and rotates the admin password; check mode
must predict every change and make none, and neither the output nor the diff may show a secret.
The module runs through ansible-playbook with each MLflow venv's Python, as the role runs it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from module_runner import run_module

REPO = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("MLFLOW_VENVS_DIR", REPO / ".cache" / "mlflow-venvs"))
VERSIONS = ["3.17.2", "2.22.5"]
# A stored password hash must never reach the output.
HASH = re.compile(r"(pbkdf2|scrypt)[:$]")


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

    def module(self, check=False, diff=True, version=None, via_env_file=False):
        """Run the module; return its result. Via the server's environment file as the role does, or config_file."""
        python = VENVS / (version or self.version) / "bin" / "python"
        if via_env_file:
            env_file = self.ini.parent / "mlflow.env"
            env_file.write_text('MLFLOW_AUTH_CONFIG_PATH="%s"\n' % self.ini)
            args = {"env_file": str(env_file)}
        else:
            args = {"config_file": str(self.ini)}
        run = run_module("auth_database", args, python, check=check, diff=diff)
        assert run.returncode == 0 and not run.get("failed"), run.output[-3000:]
        assert self.password not in run.output
        assert not HASH.search(run.output), "a password hash appears in the output"
        if run["changed"] and diff:
            assert run["diff"]["after"]["schema_revision"] == run["schema_head"]
        assert run.get("diff") is None or "admin_password" not in str(run["diff"])
        return run

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

    planned = auth.module(check=True)
    assert planned["changed"] is True and planned["schema_from"] is None
    assert "users" not in auth.tables(), "check mode created nothing"

    done = auth.module(via_env_file=True)
    assert done["changed"] is True and done["changes"] == ["schema", "admin created"]
    stored = auth.admin()
    assert stored[1] in (1, True)

    for check in (True, False):
        again = auth.module(check=check)
        assert again["changed"] is False and again["schema_from"] == again["schema_head"]
    assert auth.admin() == stored


@pytest.mark.parametrize("version", VERSIONS)
def test_rotating_the_admin_password(tmp_path, version):
    auth = AuthDatabase(tmp_path, version)
    auth.configure("first-Password%1")
    auth.module()
    before = auth.admin()

    auth.configure("second-Password%2")
    planned = auth.module(check=True)
    assert planned["changes"] == ["admin password set"]
    assert planned["diff"]["before"]["admin"] == {"exists": True, "is_admin": True, "password": "other"}
    assert planned["diff"]["after"]["admin"] == {"exists": True, "is_admin": True, "password": "configured"}
    assert auth.admin() == before, "check mode changed nothing"
    assert auth.module()["changes"] == ["admin password set"]
    after = auth.admin()
    assert after[0] != before[0]
    assert auth.module()["changed"] is False
    assert auth.admin() == after


def test_upgrade_from_2_22_to_3_17(tmp_path):
    auth = AuthDatabase(tmp_path, "2.22.5")
    auth.configure("first-Password%1")
    old = auth.module()["schema_head"]
    stored = auth.admin()

    planned = auth.module(check=True, version="3.17.2")
    assert planned["changes"] == ["schema"] and planned["schema_from"] == old
    upgraded = auth.module(version="3.17.2")
    assert upgraded["changes"] == ["schema"] and upgraded["schema_head"] != old
    assert auth.module(version="3.17.2")["changed"] is False
    assert auth.admin()[0] == stored[0], "the admin and its password survive the upgrade"
