# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_address filter: how one inventory host addresses another, in every role."""

from __future__ import annotations

import pytest

from ansible_collections.mlops.mlflow.plugins.filter.host_address import FilterModule, host_address

HOSTVARS = {
    "db1": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.5"}}, "ansible_host": "db1.example.net"},
    "db2": {"ansible_facts": {}, "ansible_host": "192.0.2.7"},
    "db3": {"ansible_facts": {"default_ipv4": {}}},
    "db4": {},
}


@pytest.mark.parametrize("host, expected", [
    ("db1", "10.0.0.5"),  # gathered facts win over ansible_host
    ("db2", "192.0.2.7"),  # no facts gathered: ansible_host
    ("db3", "db3"),  # a host without a default route and without ansible_host: its name
    ("db4", "db4"),
    ("not-in-inventory", "not-in-inventory"),
])
def test_address_of_another_host(host, expected):
    assert host_address(host, HOSTVARS, "tracking1") == expected
    assert host_address(host, HOSTVARS) == expected


def test_the_asking_host_uses_loopback():
    assert host_address("db1", HOSTVARS, "db1") == "127.0.0.1"
    assert host_address("db1", HOSTVARS) == "10.0.0.5", "without `local`, never loopback"


def test_registered_under_its_collection_name():
    assert FilterModule().filters() == {"host_address": host_address}
