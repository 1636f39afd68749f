# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack filter: one value per stack-wide input, and the facts that need other hosts."""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.filter.stack import FilterModule, contract, stack

GROUPS = {
    "mlflow_db": ["db1"], "mlflow_s3": ["s3a"], "mlflow_tracking": ["t1", "t2"], "mlflow_proxy": ["p1"],
}


def _hostvars(**overrides):
    hostvars = {
        "db1": {"ansible_host": "192.0.2.10"},
        "s3a": {"ansible_host": "192.0.2.11"},
        "t1": {"ansible_host": "192.0.2.21"},
        "t2": {"ansible_host": "192.0.2.22", "mlflow_port": 5001},
        "p1": {"ansible_host": "192.0.2.30", "nginx_server_aliases": ["ml.example.net"], "inventory_dir": "/inv"},
    }
    for host, variables in overrides.items():
        hostvars[host].update(variables)
    return hostvars


def test_defaults_come_from_the_contract_and_derived_inputs_from_the_groups():
    resolved = stack(_hostvars(), GROUPS, "t1")
    assert resolved["errors"] == []
    assert resolved["mlflow_version"] == contract()["mlflow_version"]["default"]
    assert resolved["mlflow_server_name"] == "p1"
    assert resolved["mlflow_db_host"] == "192.0.2.10"
    assert resolved["mlflow_s3_endpoint_url"] == "https://p1:9443"
    assert resolved["mlflow_tls_ca_dir"].endswith("/mlflow-ca")
    assert resolved["mlflow_s3_ca_file"] == resolved["mlflow_tls_ca_dir"] + "/ca.crt"
    assert set(resolved["derived"]) >= {"mlflow_server_name", "mlflow_db_host", "mlflow_s3_endpoint_url"}


def test_a_host_reaches_itself_over_loopback():
    assert stack(_hostvars(), GROUPS, "db1")["mlflow_db_host"] == "127.0.0.1"


def test_an_input_set_for_one_group_applies_to_every_host():
    hostvars = _hostvars(t1={"mlflow_version": "2.22.5"}, t2={"mlflow_version": "2.22.5"})
    for host in ("p1", "db1", "t1"):
        resolved = stack(hostvars, GROUPS, host)
        assert resolved["mlflow_version"] == "2.22.5" and resolved["features"]["prefix_scope"] == "ui"


def test_values_of_another_type_compare_equal_after_normalisation():
    hostvars = _hostvars(t1={"mlflow_https_port": "8443"}, p1={"mlflow_https_port": 8443})
    resolved = stack(hostvars, GROUPS, "p1")
    assert resolved["errors"] == [] and resolved["mlflow_https_port"] == 8443


def test_conflicting_values_name_the_variable_and_the_hosts():
    resolved = stack(_hostvars(t1={"mlflow_url_path": "/a"}, p1={"mlflow_url_path": "/b"}), GROUPS, "t2")
    assert len(resolved["errors"]) == 1
    assert resolved["errors"][0].startswith("mlflow_url_path is stack-wide but differs between hosts")
    assert "on t1" in resolved["errors"][0] and "on p1" in resolved["errors"][0]


def test_an_unreadable_value_is_an_error():
    resolved = stack(_hostvars(p1={"mlflow_https_port": "https"}), GROUPS, "p1")
    assert resolved["errors"] == ["mlflow_https_port on p1 is 'https', which is not of type int."]


def test_what_an_earlier_resolution_derived_is_derived_again():
    """Facts the common role set on other hosts (their loopback, say) never count as user input."""
    earlier = stack(_hostvars(), GROUPS, "db1")
    hostvars = _hostvars(db1={"mlflow_db_host": earlier["mlflow_db_host"], "__mlflow_stack": earlier})
    resolved = stack(hostvars, GROUPS, "t1")
    assert resolved["errors"] == [] and resolved["mlflow_db_host"] == "192.0.2.10"


def test_proxy_facts():
    resolved = stack(_hostvars(), GROUPS, "p1")
    assert resolved["upstreams"] == ["192.0.2.21:5000", "192.0.2.22:5001"]
    # The store is on another host than the proxy: TLS, checked for the name in its certificate.
    assert resolved["s3_upstream"] == "192.0.2.11:8333" and resolved["s3_upstream_tls"] is True
    assert resolved["s3_upstream_server_name"] == "s3a"
    assert resolved["public_names"] == ["p1", "ml.example.net"]


def test_minio_with_tls_is_reached_by_its_certificate_name():
    hostvars = _hostvars(s3a={"minio_tls_enabled": True, "minio_api_port": 9100, "minio_tls_ca_dir": "/ca"},
                         p1={"mlflow_s3_store": "minio", "mlflow_s3_https_port": 0})
    resolved = stack(hostvars, GROUPS, "t1")
    assert resolved["s3_server"] == "https://192.0.2.11:9100"
    assert resolved["mlflow_s3_endpoint_url"] == "https://192.0.2.11:9100", "not published: direct"
    assert resolved["mlflow_s3_ca_file"] == "/ca/ca.crt"
    assert resolved["s3_upstream_server_name"] == "s3a", "the role's default server name is the inventory name"


def test_an_external_store_has_no_server():
    resolved = stack(_hostvars(p1={"mlflow_s3_store": "external", "mlflow_s3_endpoint_url": ""}), GROUPS, "t1")
    assert resolved["s3_server"] == "" and resolved["s3_via_proxy"] is False
    assert resolved["mlflow_s3_endpoint_url"] == "", "set to empty (AWS S3): kept"


def test_tracking_networks_are_host_routes():
    hostvars = _hostvars(t2={"ansible_host": "2001:db8::22"})
    assert stack(hostvars, GROUPS, "db1")["tracking_networks"] == ["192.0.2.21/32", "2001:db8::22/128"]


@pytest.mark.parametrize("name", ["stack"])
def test_filter_is_registered(name):
    assert name in FilterModule().filters()


def test_internal_tls_between_hosts():
    """Every service on its own host: each hop is TLS, decided alike on every host."""
    for host in ("db1", "s3a", "t1", "p1"):
        resolved = stack(_hostvars(), GROUPS, host)
        assert (resolved["db_tls"], resolved["tracking_tls"], resolved["s3_tls"]) == (True, True, True), host
        assert resolved["tracking_tls_server_name"] == "mlflow-tracking"
    tracking = stack(_hostvars(), GROUPS, "t1")
    assert tracking["mlflow_db_sslmode"] == "verify-full"
    assert tracking["s3_server"] == "https://192.0.2.11:8333"
    assert "mlflow_db_sslmode" in tracking["derived"]


def test_the_database_host_itself_connects_over_loopback():
    """A tracking node on the database host: loopback, sslmode as before; the others verify."""
    groups = dict(GROUPS, mlflow_tracking=["db1", "t1"])
    assert stack(_hostvars(), groups, "db1")["mlflow_db_sslmode"] == "prefer"
    assert stack(_hostvars(), groups, "t1")["mlflow_db_sslmode"] == "verify-full"
    assert stack(_hostvars(), groups, "db1")["db_tls"] is True


def test_one_host_keeps_every_hop_on_loopback():
    groups = {group: ["solo"] for group in GROUPS}
    resolved = stack({"solo": {"ansible_host": "192.0.2.40"}}, groups, "solo")
    assert (resolved["db_tls"], resolved["tracking_tls"], resolved["s3_tls"]) == (False, False, False)
    assert resolved["mlflow_db_sslmode"] == "prefer"
    assert resolved["s3_server"] == "http://127.0.0.1:8333" and resolved["s3_upstream_server_name"] == ""


def test_the_opt_out_is_one_value_for_the_stack():
    off = {host: {"mlflow_internal_tls": "false"} for host in ("db1", "s3a", "t1", "t2", "p1")}
    resolved = stack(_hostvars(**off), GROUPS, "t1")
    assert resolved["errors"] == [] and resolved["mlflow_internal_tls"] is False
    assert (resolved["db_tls"], resolved["tracking_tls"], resolved["s3_tls"]) == (False, False, False)
    assert resolved["mlflow_db_sslmode"] == "prefer"
    assert resolved["s3_server"] == "http://192.0.2.11:8333"
    # Set on one host only, it applies to all; set differently on two, it is refused.
    assert stack(_hostvars(t1={"mlflow_internal_tls": False}), GROUPS, "p1")["tracking_tls"] is False
    conflicting = stack(_hostvars(t1={"mlflow_internal_tls": False}, p1={"mlflow_internal_tls": True}), GROUPS, "p1")
    assert conflicting["errors"][0].startswith("mlflow_internal_tls is stack-wide but differs between hosts")


def test_a_role_switch_the_inventory_sets_wins_over_internal_tls():
    hostvars = _hostvars(db1={"postgresql_tls_enabled": False}, s3a={"seaweedfs_s3_tls_enabled": "false"})
    resolved = stack(hostvars, GROUPS, "t1")
    assert resolved["db_tls"] is False and resolved["mlflow_db_sslmode"] == "prefer"
    assert resolved["s3_server"] == "http://192.0.2.11:8333"
    given = stack(_hostvars(s3a={"seaweedfs_s3_tls_server_name": "s3.internal"}), GROUPS, "p1")
    assert given["s3_upstream_server_name"] == "s3.internal"
    assert given["s3_server_ca"] == given["mlflow_tls_ca_dir"] + "/ca.crt", "the store's CA follows the collection CA"


def test_the_store_reached_directly_by_tracking_nodes_elsewhere():
    """Not published by the proxy: the tracking nodes reach the store directly, over TLS."""
    resolved = stack(_hostvars(p1={"mlflow_s3_https_port": 0}), GROUPS, "t1")
    assert resolved["s3_tls"] is True
    assert resolved["mlflow_s3_endpoint_url"] == "https://192.0.2.11:8333"
    assert resolved["mlflow_s3_ca_file"] == resolved["mlflow_tls_ca_dir"] + "/ca.crt"
