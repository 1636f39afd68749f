"""Maintenance helper of the mlops.mlflow.mlflow role, run with a MLflow venv's Python.

  [--env-file FILE] inspect NAME...  Print JSON: the MLflow version, which of the given private
                                     environment names this MLflow no longer reads, and the schema
                                     state of the tracking database.
  [--env-file FILE] migrate          Create the schema on a fresh database, or upgrade it to this
                                     MLflow's head.
  [--env-file FILE] dump PATH        pg_dump the tracking database (custom format) to PATH.
  [--env-file FILE] gc ARGS...       Run `mlflow gc ARGS` against the tracking database.

The database URI is read from _MLFLOW_SERVER_FILE_STORE (in the environment, or in the service's
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
    """The names that appear nowhere in MLflow's server package as string literals."""
    import mlflow.server

    source = "\n".join(p.read_text(errors="ignore") for p in Path(mlflow.server.__file__).parent.rglob("*.py"))
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

    cli.main(args=["gc", "--backend-store-uri", _uri(), *args], prog_name="mlflow")


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
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
