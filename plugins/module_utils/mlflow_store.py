# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database logic of the tracking_schema and auth_database modules.

They run on the tracking host with the Python of the MLflow venv, so they use the installed MLflow's
own schema code. The imports of MLflow's server and auth packages happen in the functions, after the
environment file is loaded: the auth package reads its ini file when it is imported.
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.mlops.mlflow.plugins.module_utils.versions import has

try:
    import sqlalchemy
    import mlflow
    from alembic.script import ScriptDirectory
except ImportError:
    HAS_MLFLOW = False
    MLFLOW_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_MLFLOW = True
    MLFLOW_IMPORT_ERROR = None

# The variable holding the tracking database's URI in the server's environment.
URI_VARIABLE = "_MLFLOW_SERVER_FILE_STORE"


class StoreError(Exception):
    """A condition the module reports as its failure message."""


def unread_names(names, source):
    """The names that appear as string literals nowhere in source."""
    return [name for name in names if '"%s"' % name not in source and "'%s'" % name not in source]


def server_source():
    """The text of MLflow's server package and its table of environment variables (where the
    private auth and server-type names are declared)."""
    import mlflow.server  # pylint: disable=import-outside-toplevel

    package = os.path.dirname(mlflow.server.__file__)
    files = [os.path.join(os.path.dirname(package), "environment_variables.py")]
    for directory, _dirs, names in os.walk(package):
        files.extend(os.path.join(directory, name) for name in names if name.endswith(".py"))
    texts = []
    for path in files:
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="ignore") as handle:
                texts.append(handle.read())
    return "\n".join(texts)


def tracking_uri():
    uri = os.environ.get(URI_VARIABLE)
    if not uri:
        raise StoreError("%s is not set in the environment file" % URI_VARIABLE)
    return uri


def _scalar(engine, table):
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text("SELECT version_num FROM %s" % table)).scalar()


def tracking_state(uri):
    """The schema revision of the tracking database, this MLflow's head, and whether it knows it."""
    from mlflow.store.db import utils  # pylint: disable=import-outside-toplevel

    engine = utils.create_sqlalchemy_engine(uri)
    try:
        current = _scalar(engine, "alembic_version") if sqlalchemy.inspect(engine).has_table("alembic_version") else None
        scripts = ScriptDirectory.from_config(utils._get_alembic_config(uri))
        try:
            known = current is None or scripts.get_revision(current) is not None
        except Exception:  # pylint: disable=broad-except  # alembic raises when the revision is not in this version's history
            known = False
        return {"fresh": current is None, "current": current, "head": utils._get_latest_schema_revision(), "known": known}
    finally:
        engine.dispose()


def migrate_tracking(uri):
    """Create the schema on a fresh database, or upgrade it to this MLflow's head."""
    from mlflow.store.db import utils  # pylint: disable=import-outside-toplevel

    engine = utils.create_sqlalchemy_engine(uri)
    try:
        if not sqlalchemy.inspect(engine).has_table("alembic_version"):
            utils._initialize_tables(engine)
        else:
            utils._upgrade_db(engine)
    finally:
        engine.dispose()


def auth_version_tables(mlflow_version):
    """Where the auth database keeps its revision: its own table since MLflow 3.6, alembic's before."""
    if has(mlflow_version, "auth_version_table"):
        return ["alembic_version_auth", "alembic_version"]
    return ["alembic_version"]


def auth_revision(engine):
    tables = sqlalchemy.inspect(engine).get_table_names()
    for name in auth_version_tables(mlflow.__version__):
        if name in tables:
            return _scalar(engine, name)
    return None


def admin_changes(view):
    """The changes that give the admin of admin_view() the configured password and the admin flag."""
    if not view["exists"]:
        return ["admin created"]
    changes = []
    if view["password"] != "configured":
        changes.append("admin password set")
    if not view["is_admin"]:
        changes.append("admin flag set")
    return changes


class AuthDatabase(object):
    """The auth app's database and its admin, as the ini file at MLFLOW_AUTH_CONFIG_PATH describes."""

    def __init__(self):
        # pylint: disable=import-outside-toplevel
        from mlflow.server.auth.config import read_auth_config
        from mlflow.server.auth.db import utils as auth_db
        from mlflow.store.db import utils

        self.config = read_auth_config()
        self.uri = self.config.database_uri
        self.engine = utils.create_sqlalchemy_engine(self.uri)
        self.head = ScriptDirectory.from_config(auth_db._get_alembic_config(self.uri)).get_current_head()
        self.store = None

    @property
    def admin_username(self):
        return self.config.admin_username

    def revision(self):
        return auth_revision(self.engine)

    def open(self):
        """Open the store; this creates or migrates the schema (at head it only opens it)."""
        from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore  # pylint: disable=import-outside-toplevel

        self.store = SqlAlchemyStore()
        self.store.init_db(self.uri)

    def admin_view(self):
        """The admin as the diff shows it: whether it exists, is an admin, and has the configured password."""
        name = self.config.admin_username
        if not self.store.has_user(name):
            return {"exists": False}
        return {"exists": True, "is_admin": bool(self.store.get_user(name).is_admin),
                "password": "configured" if self.store.authenticate_user(name, self.config.admin_password) else "other"}

    def apply_admin(self, changes):
        name, password = self.config.admin_username, self.config.admin_password
        if "admin created" in changes:
            self.store.create_user(name, password, is_admin=True)
        if "admin password set" in changes:
            self.store.update_user(name, password=password)
        if "admin flag set" in changes:
            self.store.update_user(name, is_admin=True)

    def close(self):
        self.engine.dispose()
