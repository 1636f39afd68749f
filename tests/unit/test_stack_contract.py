"""What every role derives from the stack-wide mlflow_* contract on a multi-host inventory.

ansible-playbook renders the roles' own defaults and vars (with their real precedence) for each host of
tests/unit/contract/inventory.yml (connection local, nothing contacted), once per artifact store.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "contract"
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module", params=["seaweedfs", "minio", "external"])
def derived(request, tmp_path_factory):
    output = tmp_path_factory.mktemp("contract") / "derived.json"
    extra = {"mlflow_s3_store": request.param, "output": str(output)}
    if request.param == "external":
        extra["mlflow_s3_endpoint_url"] = "https://s3.eu-west-1.amazonaws.com"
    collections = REPO / ".cache" / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-i", str(HERE / "inventory.yml"), str(HERE / "render.yml"),
                             "--tags", "contract", "--skip-tags", "always", "-e", json.dumps(extra)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return request.param, json.loads(output.read_text())


def test_tracking_nodes_reach_the_database_by_its_address(derived):
    assert derived[1]["t1"]["mlflow_db_host"] == "192.0.2.10"
    assert derived[1]["db1"]["mlflow_db_host"] == "127.0.0.1", "a host reaches itself over loopback"


def test_database_admits_each_tracking_node(derived):
    assert derived[1]["db1"]["postgresql_tracking_networks"] == ["192.0.2.21/32", "192.0.2.22/32"]


def test_proxy_balances_over_every_tracking_node(derived):
    assert derived[1]["p1"]["nginx_upstreams"] == ["192.0.2.21:5000", "192.0.2.22:5001"]


def test_s3_endpoint_follows_the_store(derived):
    store, hosts = derived
    if store == "external":
        assert hosts["t1"]["mlflow_s3_endpoint_url"] == "https://s3.eu-west-1.amazonaws.com"
        assert hosts["p1"]["nginx_s3"] == "", "an external store is not published by the proxy"
        return
    # Clients get presigned URLs for the proxy's published S3 port; the proxy forwards to the store.
    assert hosts["t1"]["mlflow_s3_endpoint_url"] == "https://mlflow.example.net:9443"
    assert hosts["p1"]["nginx_s3"] == ("192.0.2.11:9100" if store == "minio" else "192.0.2.11:8333")
    assert hosts["p1"]["nginx_s3_tls"] is (store == "minio")


def test_allowed_hosts_and_origins_follow_the_proxy_names(derived):
    env = derived[1]["t1"]["env"]
    assert env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")[:4] == [
        "mlflow.example.net", "ml.example.net", "mlflow.example.net:*", "ml.example.net:*"]
    assert "127.0.0.1:*" in env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert env["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] == "https://mlflow.example.net,https://ml.example.net"


def test_default_auth_is_at_the_proxy(derived):
    hosts = derived[1]
    assert hosts["p1"]["nginx_auth_enabled"] is True and hosts["p1"]["nginx_loopback_only"] is False
    assert "MLFLOW_AUTH_CONFIG_PATH" not in hosts["t1"]["env"]
