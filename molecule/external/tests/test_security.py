"""The security check (molecule/_shared/security_check.py) on the external stack: Debian 13, no authentication
(so MLflow and the proxy on loopback only), the S3 store on a second host outside the stack."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))

from security_check import (  # noqa: E402  pylint: disable=wrong-import-position
    SEAWEEDFS_LOOPBACK, Host, PrivateKey, Scenario, SecurityCheck, Var, Web,
)

STACK = "external-debian13"
STORE = "s3-external-debian13"


class TestSecurity(SecurityCheck):
    SCENARIO = Scenario(
        hosts=(
            Host(
                STACK,
                units={
                    # Measured on Debian 13 (systemd 257), 2026-12-03.
                    "nginx.service": 2.5,
                    "mlflow.service": 1.4,
                    "mlflow-gc.service": 1.4,
                    "postgresql@*-main.service": 1.5,
                },
                listeners={
                    # mlflow_auth_mode none: the proxy and MLflow on loopback only.
                    "127.0.0.1:80": "nginx.service",
                    "127.0.0.1:443": "nginx.service",
                    "127.0.0.1:5000": "mlflow.service",
                    "127.0.0.1:5432": "postgresql@17-main.service",
                },
            ),
            # The store a site would run itself: the seaweedfs role alone (prepare.yml), not the stack.
            Host(
                STORE,
                stack=False,
                units={"seaweedfs.service": 1.3},
                listeners={
                    # A store that serves other hosts: its S3 gateway on all addresses, and the gateway's gRPC
                    # port with it (SeaweedFS binds both to -s3.ip.bind); that port takes mutual TLS with the
                    # store nodes' certificates only (molecule/seaweedfs/tests/test_seaweedfs.py probes it).
                    "*:8333": "seaweedfs.service",
                    "*:18333": "seaweedfs.service",
                    **SEAWEEDFS_LOOPBACK,
                },
            ),
        ),
        # No credentials by design; the listeners and the peer test prove that only this host reaches it.
        web=Web(STACK, server_name="localhost", https_port=443, auth=False),
        secrets=(
            Var("mlflow_db_password"),
            Var("mlflow_s3_secret_key"),
            Var("seaweedfs_admin_secret_key"),
            PrivateKey("mlflow-ca/ca.key"),
        ),
    )
