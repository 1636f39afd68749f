# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mlops.mlflow.tracking_schema module against real MLflow installs, on a sqlite tracking database.

Inspection, check mode, creation on a fresh database, the upgrade from 2.22 to 3.17, and the refusal
of a database a newer MLflow upgraded. The URI comes from an environment file as the role writes it;
the module runs through ansible-playbook with each MLflow venv's Python.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from module_runner import run_module

REPO = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("MLFLOW_VENVS_DIR", REPO / ".cache" / "mlflow-venvs"))
VERSIONS = ["3.17.2", "2.22.5"]
# Names the role writes, which both versions read, and one no MLflow reads.
READ_NAMES = ["_MLFLOW_SERVER_FILE_STORE", "_MLFLOW_SERVER_ARTIFACT_ROOT", "_MLFLOW_STATIC_PREFIX"]
UNREAD_NAME = "_MLFLOW_SERVER_NO_SUCH_SETTING"


@pytest.fixture(scope="module", autouse=True)
def venvs():
    env = dict(os.environ, MLFLOW_TEST_VERSIONS=" ".join(VERSIONS), MLFLOW_VENVS_DIR=str(VENVS))
    subprocess.run([str(REPO / "scripts" / "mlflow-test-venvs.sh")], env=env, check=True)


class TrackingDatabase(object):
    def __init__(self, directory):
        self.database = directory / "mlflow.db"
        self.env_file = directory / "mlflow.env"
        # The format the role's mlflow.env.j2 writes.
        self.env_file.write_text('_MLFLOW_SERVER_FILE_STORE="sqlite:///%s"\nMLFLOW_DISABLE_TELEMETRY="true"\n' % self.database)

    def module(self, version, state="inspected", check=False, names=None, expect_failure=False):
        args = {"env_file": str(self.env_file), "state": state}
        if names:
            args["private_names"] = names
        run = run_module("tracking_schema", args, VENVS / version / "bin" / "python", check=check, diff=True)
        if expect_failure:
            assert run.returncode != 0 and run.get("failed") is True, run.output[-3000:]
        else:
            assert run.returncode == 0 and not run.get("failed"), run.output[-3000:]
        return run

    def revision(self):
        if not self.database.exists():
            return None
        with sqlite3.connect(self.database) as connection:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if "alembic_version" not in tables:
                return None
            return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_fresh_database_check_mode_create_repeat(tmp_path, version):
    db = TrackingDatabase(tmp_path)
    seen = db.module(version, names=READ_NAMES + [UNREAD_NAME])
    assert seen["version"] == version
    assert (seen["fresh"], seen["current"], seen["known"], seen["changed"]) == (True, None, True, False)
    assert seen["head"]
    assert seen["unread_names"] == [UNREAD_NAME]

    planned = db.module(version, state="current", check=True)
    assert planned["changed"] is True
    assert planned["diff"] == {"before": {"revision": None}, "after": {"revision": seen["head"]}}
    assert db.revision() is None, "check mode created nothing"

    done = db.module(version, state="current")
    assert done["changed"] is True and done["previous"] is None
    assert done["current"] == done["head"] == seen["head"] == db.revision()
    assert done["fresh"] is False

    for check in (True, False):
        again = db.module(version, state="current", check=check)
        assert again["changed"] is False and again["current"] == again["head"]
    assert db.revision() == seen["head"]


def test_upgrade_from_2_22_to_3_17_and_refusal_of_the_old_version(tmp_path):
    db = TrackingDatabase(tmp_path)
    old = db.module("2.22.5", state="current")["head"]

    seen = db.module("3.17.2")
    assert (seen["current"], seen["known"], seen["fresh"]) == (old, True, False)
    assert seen["head"] != old

    planned = db.module("3.17.2", state="current", check=True)
    assert planned["changed"] is True and planned["diff"]["before"] == {"revision": old}
    assert db.revision() == old, "check mode upgraded nothing"

    upgraded = db.module("3.17.2", state="current")
    assert (upgraded["changed"], upgraded["previous"], upgraded["current"]) == (True, old, seen["head"])
    assert db.revision() == seen["head"]

    # 2.22 does not know the revision 3.17 wrote: inspection says so, and an "upgrade" is refused.
    back = db.module("2.22.5")
    assert (back["known"], back["current"], back["head"]) == (False, seen["head"], old)
    refused = db.module("2.22.5", state="current", expect_failure=True)
    assert "does not know" in refused["msg"]
    assert db.revision() == seen["head"], "the refused run changed nothing"
