"""The security check (molecule/_shared/security_check.py) on the default stack: one Debian 12 host, nginx auth."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))

from security_check import (  # noqa: E402  pylint: disable=wrong-import-position
    SEAWEEDFS_LOOPBACK, Host, HostFileField, PrivateKey, Scenario, SecurityCheck, Var, Web,
)

HOST = "stack-debian12"


class TestSecurity(SecurityCheck):
    SCENARIO = Scenario(
        hosts=(
            Host(
                HOST,
                units={
                    # Measured on Debian 12 (systemd 252), 2026-12-03; 9.6 for each without the collection's drop-in.
                    "nginx.service": 2.5,
                    "mlflow.service": 1.4,
                    "mlflow-gc.service": 1.4,
                    "mlflow-authn.service": 1.1,
                    "seaweedfs.service": 1.3,
                    "postgresql@*-main.service": 1.5,
                },
                listeners={
                    # The published face: HTTP (redirects only), HTTPS and the S3 endpoint.
                    "0.0.0.0:80": "nginx.service",
                    "0.0.0.0:8443": "nginx.service",
                    "0.0.0.0:9443": "nginx.service",
                    "127.0.0.1:5000": "mlflow.service",
                    "127.0.0.1:5432": "postgresql@15-main.service",
                    # SeaweedFS on loopback only, its S3 gateway and that gateway's gRPC port included: nginx on
                    # this host is its only client (seaweedfs_s3_bind_ip).
                    "127.0.0.1:8333": "seaweedfs.service",
                    **SEAWEEDFS_LOOPBACK,
                    "127.0.0.1:18333": "seaweedfs.service",
                },
            ),
        ),
        web=Web(HOST, server_name="localhost", https_port=8443, s3_port=9443),
        secrets=(
            Var("mlflow_db_password"),
            Var("mlflow_s3_secret_key"),
            Var("seaweedfs_admin_secret_key"),
            Var("nginx_auth_users[].password"),
            Var("nginx_auth_tokens[].token"),
            # The bcrypt hashes and the token digests: not the credentials, but only for mlflow-authn to read.
            HostFileField(HOST, "/etc/mlflow-authn/users.htpasswd"),
            HostFileField(HOST, "/etc/mlflow-authn/tokens", separator=" ", index=0),
            PrivateKey("mlflow-ca/ca.key"),
        ),
    )
