"""Maintenance helper of the mlops.mlflow.mlflow role, run with a MLflow venv's Python.

  [--env-file FILE] inspect NAME...  Print JSON: the MLflow version, which of the given private
                                     environment names this MLflow no longer reads, and the schema
                                     state of the tracking database.
  [--env-file FILE] migrate          Create the schema on a fresh database, or upgrade it to this
                                     MLflow's head.
  [--env-file FILE] dump PATH        pg_dump the tracking database (custom format) to PATH.
  [--env-file FILE] gc ARGS...       Run `mlflow gc ARGS` against the tracking database (as the
                                     auth app's admin when MLFLOW_AUTH_CONFIG_PATH is set).
  [--env-file FILE] auth [--check]   Create or upgrade the auth app's database, and create its admin
                                     user or set the configured password; print JSON with "changed".

The database URIs are read from _MLFLOW_SERVER_FILE_STORE and the auth app's ini file (in the environment, or in the service's
environment file), never from the command line, so neither it nor its password shows in process lists
or in Ansible's output.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

URI_VARIABLE = "_MLFLOW_SERVER_FILE_STORE"


def _uri():
    uri = os.environ.get(URI_VARIABLE)
    if not uri:
        sys.exit(f"{URI_VARIABLE} is not set")
    return uri


def _load_env_file(path):
    """Read a systemd environment file as the role writes it: KEY="value" with \\ and \" escaped."""
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        os.environ[key] = value


def _engine():
    from mlflow.store.db import utils

    return utils.create_sqlalchemy_engine(_uri())


def _current_revision(engine):
    import sqlalchemy

    if not sqlalchemy.inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()


def _unread_names(names):
    """The names that appear as string literals neither in MLflow's server package nor in its table
    of environment variables (where the private auth and server-type names are declared)."""
    import mlflow.server

    package = Path(mlflow.server.__file__).parent
    files = [*package.rglob("*.py"), package.parent / "environment_variables.py"]
    source = "\n".join(p.read_text(errors="ignore") for p in files if p.exists())
    return [name for name in names if f'"{name}"' not in source and f"'{name}'" not in source]


def inspect(names):
    import mlflow
    from alembic.script import ScriptDirectory
    from mlflow.store.db import utils

    engine = _engine()
    current = _current_revision(engine)
    scripts = ScriptDirectory.from_config(utils._get_alembic_config(_uri()))
    try:
        known = current is None or scripts.get_revision(current) is not None
    except Exception:  # alembic raises when the revision is not in this version's history
        known = False
    print(json.dumps({
        "version": mlflow.__version__,
        "unread_names": _unread_names(names),
        "fresh": current is None,
        "current": current,
        "head": utils._get_latest_schema_revision(),
        "known": known,
    }))


def migrate():
    from mlflow.store.db import utils

    engine = _engine()
    if _current_revision(engine) is None:
        utils._initialize_tables(engine)
    else:
        utils._upgrade_db(engine)
    print(json.dumps({"current": _current_revision(engine)}))


def dump(path):
    from sqlalchemy.engine import make_url

    url = make_url(_uri())
    env = dict(os.environ, PGPASSWORD=url.password or "", PGSSLMODE=str(url.query.get("sslmode", "prefer")))
    command = ["pg_dump", "--format=custom", "--no-password", "--file", path,
               "--host", url.host or "127.0.0.1", "--port", str(url.port or 5432),
               "--username", url.username, "--dbname", url.database]
    old_umask = os.umask(0o077)
    try:
        subprocess.run(command, env=env, check=True)
    finally:
        os.umask(old_umask)
    print(json.dumps({"dump": path, "size": os.path.getsize(path)}))


def gc(args):
    from mlflow.cli import cli

    if os.environ.get("MLFLOW_AUTH_CONFIG_PATH"):
        # Artifacts are deleted through the server, which then wants credentials.
        from mlflow.server.auth.config import read_auth_config

        config = read_auth_config()
        os.environ["MLFLOW_TRACKING_USERNAME"] = config.admin_username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = config.admin_password
    cli.main(args=["gc", "--backend-store-uri", _uri(), *args], prog_name="mlflow")


def _auth_revision(engine):
    """Revision of the auth database: its own version table since MLflow 3.6, alembic's before."""
    import mlflow
    import sqlalchemy

    major, minor = (int(part) for part in mlflow.__version__.split(".")[:2])
    names = ["alembic_version_auth", "alembic_version"] if (major, minor) >= (3, 6) else ["alembic_version"]
    tables = sqlalchemy.inspect(engine).get_table_names()
    for name in names:
        if name in tables:
            with engine.connect() as connection:
                return connection.execute(sqlalchemy.text(f"SELECT version_num FROM {name}")).scalar()
    return None


def auth(check):
    """Bring the auth database to this MLflow's head and the admin user to the configured password.

    Runs before the workers start, so they find the schema and the admin ready (they would race to
    create both on a fresh database). The stored password hash changes only when the configured
    password no longer matches it.
    """
    from alembic.script import ScriptDirectory
    from mlflow.server.auth.config import read_auth_config
    from mlflow.server.auth.db import utils as auth_db
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
    from mlflow.store.db import utils

    config = read_auth_config()
    engine = utils.create_sqlalchemy_engine(config.database_uri)
    current = _auth_revision(engine)
    head = ScriptDirectory.from_config(auth_db._get_alembic_config(config.database_uri)).get_current_head()
    result = {"schema_from": current, "schema_head": head, "admin": config.admin_username}
    changes = []
    if current != head:
        changes.append("schema")
        if check:
            # The admin cannot be read before the migration; the change is reported anyway.
            print(json.dumps(dict(result, changes=changes, changed=True)))
            return
    # At head, init_db only opens the store, so check mode may call it too.
    store = SqlAlchemyStore()
    store.init_db(config.database_uri)
    if not store.has_user(config.admin_username):
        changes.append("admin created")
        if not check:
            store.create_user(config.admin_username, config.admin_password, is_admin=True)
    else:
        if not store.authenticate_user(config.admin_username, config.admin_password):
            changes.append("admin password set")
            if not check:
                store.update_user(config.admin_username, password=config.admin_password)
        if not store.get_user(config.admin_username).is_admin:
            changes.append("admin flag set")
            if not check:
                store.update_user(config.admin_username, is_admin=True)
    result["changes"] = changes
    print(json.dumps(dict(result, changed=bool(changes))))


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--env-file"] and len(argv) > 1:
        _load_env_file(argv[1])
        argv = argv[2:]
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "inspect":
        inspect(args)
    elif command == "migrate":
        migrate()
    elif command == "dump" and len(args) == 1:
        dump(args[0])
    elif command == "gc":
        gc(args)
    elif command == "auth" and args in ([], ["--check"]):
        auth(check=args == ["--check"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
