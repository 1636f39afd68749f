"""The security check (molecule/_shared/security_check.py) on the auth stack: one Debian 13 host, MLflow's own
auth app, everything under /mlflow."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))

from security_check import (  # noqa: E402  pylint: disable=wrong-import-position
    SEAWEEDFS_LOOPBACK, ControllerFile, Host, PrivateKey, Scenario, SecurityCheck, Var, Web,
)

# auth-mlflow2 runs these tests too (its verifier directory is this one), with MLflow 2.22 on its own ports.
SCENARIO_NAME = os.environ.get("MOLECULE_SCENARIO_NAME", "auth")
HOST = f"{SCENARIO_NAME}-debian13"
HTTPS_PORT, S3_PORT = {"auth": (8444, 9444), "auth-mlflow2": (8445, 9445)}[SCENARIO_NAME]
MLFLOW_3 = SCENARIO_NAME == "auth"


# Paths MLflow 3's auth app answers without credentials. MLflow 2.22's answers 401 on every one of them
# (auth-mlflow2, 2026-12-03), so there every route but /health needs credentials.
OPEN_ROUTES = {
    # mlflow_auth_mode mlflow: the proxy checks nothing, and MLflow's auth app lets through every path
    # that starts with /static, /favicon.ico or /health (mlflow/server/auth, is_unprotected_route).
    "/mlflow/static-files/asset-manifest.json": (200, "MLflow's UI bundle, public code, served without credentials"),
    "/mlflow/favicon.ico": (404, "let through by MLflow's auth app; no such route"),
    "/mlflow/health/": (404, "let through by MLflow's auth app (/health prefix); no such route"),
    "/mlflow/healthz": (404, "let through by MLflow's auth app (/health prefix); no such route"),
    # Let through, and not resolved: Flask routes the path as it came, so no route answers.
    "/mlflow/health/../version": (404, "let through by MLflow's auth app; Flask does not resolve .."),
    "/mlflow/health%2F..%2Fversion": (404, "let through by MLflow's auth app; Flask does not resolve .."),
    "/mlflow/health/../api/2.0/mlflow/experiments/search?max_results=1": (404, "let through; Flask does not resolve .."),
    "/mlflow/health/%2e%2e/api/2.0/mlflow/experiments/search?max_results=1": (404, "let through; Flask does not resolve .."),
    # Public in MLflow 3's auth app (server capabilities, no data); this MLflow has no such route.
    "/mlflow/api/2.0/mlflow/server-info": (404, "public in MLflow's auth app; no such route in this version"),
}


class TestSecurity(SecurityCheck):
    SCENARIO = Scenario(
        hosts=(
            Host(
                HOST,
                units={
                    # Measured on Debian 13 (systemd 257), 2026-12-03.
                    "nginx.service": 2.5,
                    "mlflow.service": 1.4,
                    "mlflow-gc.service": 1.4,
                    "seaweedfs.service": 1.3,
                    "postgresql@*-main.service": 1.5,
                },
                listeners={
                    "0.0.0.0:80": "nginx.service",
                    f"0.0.0.0:{HTTPS_PORT}": "nginx.service",
                    f"0.0.0.0:{S3_PORT}": "nginx.service",
                    "127.0.0.1:5000": "mlflow.service",
                    "127.0.0.1:5432": "postgresql@17-main.service",
                    "127.0.0.1:8333": "seaweedfs.service",
                    **SEAWEEDFS_LOOPBACK,
                    "127.0.0.1:18333": "seaweedfs.service",
                },
            ),
        ),
        web=Web(HOST, server_name="localhost", https_port=HTTPS_PORT, s3_port=S3_PORT, prefix="/mlflow", open_routes=OPEN_ROUTES if MLFLOW_3 else {}),
        secrets=(
            Var("mlflow_db_password"),
            Var("mlflow_s3_secret_key"),
            Var("seaweedfs_admin_secret_key"),
            Var("mlflow_auth_admin_password"),
            Var("mlflow_auth_users[].password"),
            # The Flask secret key (sessions, CSRF), generated on the controller.
            ControllerFile("mlflow-secrets/flask-secret-key"),
            PrivateKey("mlflow-ca/ca.key"),
        ),
    )
