"""Garbage collection of the mlops.mlflow.mlflow role, run by mlflow-gc.service with the MLflow venv's Python.

  gc ARGS...   Run `mlflow gc ARGS` against the tracking database, as the auth app's admin when
               MLFLOW_AUTH_CONFIG_PATH is set.

The unit's EnvironmentFile (the server's environment) provides _MLFLOW_SERVER_FILE_STORE, the tracking
database's URI, and MLFLOW_AUTH_CONFIG_PATH; the admin's credentials are read from the auth app's ini
file. Neither reaches a command line. Schema, dump and auth tasks are the collection's modules
(mlops.mlflow.tracking_schema, mlops.mlflow.auth_database), not this script.
"""

import os
import sys

URI_VARIABLE = "_MLFLOW_SERVER_FILE_STORE"


def gc(args):
    from mlflow.cli import cli

    uri = os.environ.get(URI_VARIABLE)
    if not uri:
        sys.exit(f"{URI_VARIABLE} is not set")
    if os.environ.get("MLFLOW_AUTH_CONFIG_PATH"):
        # Artifacts are deleted through the server, which then wants credentials.
        from mlflow.server.auth.config import read_auth_config

        config = read_auth_config()
        os.environ["MLFLOW_TRACKING_USERNAME"] = config.admin_username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = config.admin_password
    cli.main(args=["gc", "--backend-store-uri", uri, *args], prog_name="mlflow")


def main():
    argv = sys.argv[1:]
    if argv[:1] != ["gc"]:
        sys.exit(__doc__)
    gc(argv[1:])


if __name__ == "__main__":
    main()
