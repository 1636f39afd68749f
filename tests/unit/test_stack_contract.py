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


def _render(tmp_path, extra, inventories=("inventory.yml",)):
    output = tmp_path / "derived.json"
    collections = REPO / ".cache" / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", str(HERE / "render.yml"), "--tags", "contract", "-e", json.dumps(dict(extra, output=str(output)))]
    for inventory in inventories:
        command[1:1] = ["-i", str(inventory if os.path.isabs(str(inventory)) else HERE / inventory)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return result, (json.loads(output.read_text()) if result.returncode == 0 else None)


@pytest.fixture(scope="module", params=["seaweedfs", "minio", "external"])
def derived(request, tmp_path_factory):
    extra = {"mlflow_s3_store": request.param}
    if request.param == "external":
        extra["mlflow_s3_endpoint_url"] = "https://s3.eu-west-1.amazonaws.com"
    result, hosts = _render(tmp_path_factory.mktemp("contract"), extra)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return request.param, hosts


def _group_vars(tmp_path, **groups):
    """A second inventory source holding only group_vars, as a user's inventory directory would."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text("all:\n  children:\n" + "".join("    %s: {}\n" % group for group in groups))
    for group, variables in groups.items():
        (inventory / "group_vars" / (group + ".yml")).write_text(json.dumps(variables))
    return inventory


def test_version_and_prefix_set_for_the_tracking_group_reach_the_proxy(tmp_path):
    """Set where a multi-host user would put them, nginx routes for the version the tracking nodes run."""
    extra_inventory = _group_vars(tmp_path, mlflow_tracking={"mlflow_version": "2.22.5", "mlflow_url_path": "/mlflow"})
    result, hosts = _render(tmp_path, {}, ("inventory.yml", extra_inventory))
    assert result.returncode == 0, result.stdout[-3000:]
    for host in ("p1", "t1", "db1"):
        assert (hosts[host]["mlflow_version"], hosts[host]["mlflow_url_path"]) == ("2.22.5", "/mlflow"), host
    # 2.22 serves only the UI under the prefix: the proxy maps the API back to the root, as the server expects.
    assert hosts["t1"]["mlflow_prefix_scope"] == hosts["p1"]["nginx_prefix_scope"] == "ui"
    assert hosts["p1"]["nginx_api_at_root"] is True


def test_a_stack_wide_input_that_differs_between_hosts_is_refused(tmp_path):
    extra_inventory = _group_vars(tmp_path, mlflow_tracking={"mlflow_version": "3.17.2"}, mlflow_proxy={"mlflow_version": "3.16.1"})
    result = _render(tmp_path, {}, ("inventory.yml", extra_inventory))[0]
    assert result.returncode != 0
    assert "mlflow_version is stack-wide but differs between hosts" in result.stdout
    assert "set it once, in group_vars/all" in result.stdout


def test_an_unknown_mlflow_version_is_refused(tmp_path):
    result = _render(tmp_path, {"mlflow_version": "3.99.0"})[0]
    assert result.returncode != 0
    assert "mlflow_version '3.99.0' is not a release this collection knows" in result.stdout


def test_tracking_nodes_reach_the_database_by_its_address(derived):
    assert derived[1]["t1"]["mlflow_db_host"] == "192.0.2.10"
    assert derived[1]["db1"]["mlflow_db_host"] == "127.0.0.1", "a host reaches itself over loopback"


def test_tracking_nodes_follow_the_database_port(tmp_path):
    """A non-default postgresql_port on the database host is the port MLflow connects to."""
    extra_inventory = _group_vars(tmp_path, mlflow_db={"postgresql_port": 6432})
    result, hosts = _render(tmp_path, {}, ("inventory.yml", extra_inventory))
    assert result.returncode == 0, result.stdout[-3000:]
    assert hosts["t1"]["mlflow_db_port"] == hosts["db1"]["mlflow_db_port"] == 6432


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
    # The store runs on another host than the proxy: internal TLS, whichever store it is.
    assert hosts["p1"]["nginx_s3_tls"] is True


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


def test_internal_tls_between_hosts_by_default(derived):
    """Every host of the contract inventory is another: each hop is TLS, the database verified."""
    hosts = derived[1]
    assert hosts["db1"]["postgresql_tls_enabled"] is True
    assert "IP:192.0.2.10" in hosts["db1"]["postgresql_client_sans"], "the address the tracking nodes connect to"
    assert hosts["t1"]["mlflow_db_ssl_query"] == "sslmode=verify-full&sslrootcert=/etc/mlflow/db-ca.crt"
    assert hosts["t1"]["mlflow_tls"] is True and hosts["t1"]["mlflow_local_url"].startswith("https://127.0.0.1:")
    assert "DNS:mlflow-tracking" in hosts["t1"]["mlflow_tls_subject_alt_names"]
    assert "IP:192.0.2.21" in hosts["t1"]["mlflow_tls_subject_alt_names"]
    assert hosts["p1"]["nginx_mlflow_tls"] is True and hosts["p1"]["nginx_mlflow_upstream"] == "https://mlflow"


def test_internal_tls_opt_out(tmp_path):
    """mlflow_internal_tls: false, set once: every hop the stack decides is plain again."""
    extra_inventory = _group_vars(tmp_path, all={"mlflow_internal_tls": False})
    result, hosts = _render(tmp_path, {"mlflow_s3_store": "seaweedfs"}, ("inventory.yml", extra_inventory))
    assert result.returncode == 0, result.stdout[-3000:]
    assert hosts["db1"]["postgresql_tls_enabled"] is False
    assert hosts["t1"]["mlflow_db_ssl_query"] == "sslmode=prefer"
    assert hosts["t1"]["mlflow_tls"] is False and hosts["t1"]["mlflow_local_url"].startswith("http://127.0.0.1:")
    assert hosts["p1"]["nginx_mlflow_tls"] is False and hosts["p1"]["nginx_mlflow_upstream"] == "http://mlflow"
    assert hosts["p1"]["nginx_s3_tls"] is False


def test_internal_tls_on_one_host_stays_on_loopback(tmp_path):
    """One host in every group: nothing leaves the host, so nothing is encrypted."""
    inventory = tmp_path / "one-host.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "mlflow_db_password": "contract-db-password", "mlflow_s3_secret_key": "contract-s3-secret"},
        "children": {group: {"hosts": {"solo": {"ansible_host": "192.0.2.40"}}}
                     for group in ("mlflow_db", "mlflow_s3", "mlflow_tracking", "mlflow_proxy")}}}))
    result, hosts = _render(tmp_path, {}, (inventory,))
    assert result.returncode == 0, result.stdout[-3000:]
    solo = hosts["solo"]
    assert solo["postgresql_tls_enabled"] is False and solo["mlflow_db_ssl_query"] == "sslmode=prefer"
    assert solo["mlflow_tls"] is False and solo["nginx_mlflow_upstream"] == "http://mlflow"
    assert solo["nginx_s3_tls"] is False and solo["nginx_s3"] == "127.0.0.1:8333"
