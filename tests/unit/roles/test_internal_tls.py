# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Internal TLS as the roles write it, for the layout of the split scenario and with the opt-out.

Each role's templates and URIs are rendered with the stack contract the mlops.mlflow.stack filter
resolves for the host (as the common role sets it), so the opt-out is proven without a second
converge: molecule/split converges the TLS side on three hosts.
"""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.filter.stack import contract, stack

GROUPS = {"mlflow_proxy": ["proxy"], "mlflow_tracking": ["tracking"], "mlflow_db": ["data"], "mlflow_s3": ["data"]}
ADDRESSES = {"proxy": "172.30.0.2", "tracking": "172.30.0.3", "data": "172.30.0.4"}
SECRETS = {"mlflow_db_password": "db-pass/word%", "mlflow_s3_secret_key": "s3-secret-0123456789",
           "mlflow_auth_admin_password": "admin-password-0123", "seaweedfs_admin_secret_key": "admin-secret-0123456789"}


def _hostvars(**common):
    return {host: dict(common, ansible_host=host, inventory_dir="/inventory",
                       ansible_facts={"default_ipv4": {"address": address}})
            for host, address in ADDRESSES.items()}


def _variables(host, **common):
    """What a role sees on the host: the contract the common role resolved and applied, and the facts."""
    hostvars = _hostvars(**common)
    resolved = stack(hostvars, GROUPS, host)
    assert resolved["errors"] == []
    variables = {name: resolved[name] for name in contract()}
    variables.update(SECRETS)
    variables.update(common)
    variables.update(__mlflow_stack=resolved, hostvars=hostvars, groups=GROUPS, inventory_hostname=host,
                     ansible_facts=dict(hostvars[host]["ansible_facts"], processor_vcpus=2, all_ipv6_addresses=[]))
    return variables


LAYOUTS = {"internal-tls": {}, "opt-out": {"mlflow_internal_tls": False}}


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request):
    return request.param, LAYOUTS[request.param]


def test_tracking_servers_verify_the_database(role_renderer, layout):
    name, common = layout
    mlflow = role_renderer("mlflow")
    variables = _variables("tracking", **common)
    uri = mlflow.value("__mlflow_db_uri", **variables)
    auth_ini = mlflow.render("basic_auth.ini.j2", **variables)
    assert uri.startswith("postgresql+psycopg2://mlflow:db-pass%2Fword%25@172.30.0.4:5432/mlflow?"), uri
    if name == "internal-tls":
        assert uri.endswith("?sslmode=verify-full&sslrootcert=/etc/mlflow/db-ca.crt")
        # Through configparser's interpolation, hence the doubled "%" of the URI.
        assert "/mlflow_auth?sslmode=verify-full&sslrootcert=/etc/mlflow/db-ca.crt\n" in auth_ini
        assert mlflow.value("mlflow_db_ca_file", **variables) == "/inventory/mlflow-ca/ca.crt"
    else:
        assert uri.endswith("?sslmode=prefer") and "sslrootcert" not in auth_ini


def test_the_database_serves_tls_for_the_address_tracking_servers_use(role_renderer, layout):
    name, common = layout
    postgresql = role_renderer("postgresql")
    variables = _variables("data", **common)
    assert postgresql.value("postgresql_tls_enabled", **variables) is (name == "internal-tls")
    # The database host reaches itself on loopback; the SANs name the address the others use.
    assert variables["mlflow_db_host"] == "127.0.0.1"
    assert postgresql.value("__postgresql_client_sans", **variables) == ["IP:172.30.0.4"]
    named = dict(variables, mlflow_db_host="db.example.net")
    assert postgresql.value("__postgresql_client_sans", **named) == ["IP:172.30.0.4", "DNS:db.example.net"]


def test_gunicorn_serves_tls_to_a_proxy_elsewhere(role_renderer, layout):
    name, common = layout
    mlflow = role_renderer("mlflow")
    variables = _variables("tracking", **common, mlflow_host="0.0.0.0")
    config = mlflow.render("gunicorn.conf.py.j2", **variables)
    gc_unit = mlflow.render("mlflow-gc.service.j2", **variables)
    compile(config, "gunicorn.conf.py", "exec")
    if name == "internal-tls":
        assert 'certfile = "/etc/mlflow/tls/server.crt"\nkeyfile = "/etc/mlflow/tls/server.key"\n' in config
        assert "Environment=MLFLOW_TRACKING_URI=https://127.0.0.1:5000\n" in gc_unit
        assert "Environment=MLFLOW_TRACKING_SERVER_CERT_PATH=/etc/mlflow/tls/ca.crt\n" in gc_unit
        names = mlflow.value("__mlflow_tls_subject_alt_names", **variables)
        assert names == ["DNS:mlflow-tracking", "DNS:tracking", "DNS:localhost", "IP:127.0.0.1", "IP:172.30.0.3"]
    else:
        assert "certfile" not in config and "keyfile" not in config
        assert "Environment=MLFLOW_TRACKING_URI=http://127.0.0.1:5000\n" in gc_unit
        assert "CERT_PATH" not in gc_unit


def test_nginx_checks_the_tracking_servers_and_the_store(role_renderer, layout):
    name, common = layout
    nginx = role_renderer("nginx")
    site = nginx.render("mlflow.conf.j2", **_variables("proxy", **common))
    assert "server 172.30.0.3:5000 max_fails=3 fail_timeout=10s;" in site
    assert "server 172.30.0.4:8333;" in site
    if name == "internal-tls":
        assert "proxy_pass http://mlflow" not in site.replace("http://mlflow_authn", "")
        assert site.count("proxy_pass https://mlflow;") >= 2
        for line in ("proxy_ssl_verify on;", "proxy_ssl_trusted_certificate /etc/nginx/tls/mlflow-upstream-ca.crt;",
                     "proxy_ssl_name mlflow-tracking;", "proxy_ssl_session_reuse on;", "proxy_ssl_protocols TLSv1.2 TLSv1.3;"):
            assert "    " + line + "\n" in site, line
        # The S3 server block: the store's certificate, for its server name, against the collection CA.
        assert "proxy_pass https://mlflow_s3;" in site
        assert "proxy_ssl_name data;" in site
        assert "proxy_ssl_trusted_certificate /etc/nginx/tls/s3-upstream-ca.crt;" in site
    else:
        assert "proxy_pass https://" not in site and "proxy_ssl" not in site
        assert "proxy_pass http://mlflow_s3;" in site


def test_the_store_serves_tls_to_the_proxy(role_renderer, layout):
    name, common = layout
    seaweedfs = role_renderer("seaweedfs")
    variables = _variables("data", **common)
    unit = seaweedfs.render("seaweedfs.service.j2", **variables)
    assert "    \\\n" not in unit, "no empty argument"
    if name == "internal-tls":
        assert "-s3.cert.file=/etc/seaweedfs/s3-tls/server.crt \\\n" in unit
        assert "-s3.key.file=/etc/seaweedfs/s3-tls/server.key \\\n" in unit
        assert seaweedfs.value("__seaweedfs_s3_local_url", **variables) == "https://127.0.0.1:8333"
        names = seaweedfs.value("__seaweedfs_s3_tls_subject_alt_names", **variables)
        assert names == ["DNS:data", "DNS:localhost", "IP:127.0.0.1", "IP:172.30.0.4"]
    else:
        assert "-s3.cert.file" not in unit
        assert seaweedfs.value("__seaweedfs_s3_local_url", **variables) == "http://127.0.0.1:8333"


def test_tracking_servers_reach_the_published_store_through_the_proxy(role_renderer, layout):
    name, common = layout
    variables = _variables("tracking", **common)
    assert variables["mlflow_s3_endpoint_url"] == "https://proxy:9443"
    assert variables["mlflow_s3_ca_file"] == "/inventory/mlflow-ca/ca.crt"
