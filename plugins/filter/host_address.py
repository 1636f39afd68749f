# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: host_address
short_description: The address by which one inventory host reaches another
version_added: 0.2.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Given the inventory name of a host, return the address other hosts of the stack use for it, the
    same rule in every role.
  - V(127.0.0.1) when the host is the one asking (O(local)), so that a single-host install talks over
    loopback.
  - Otherwise the IPv4 address of its default route from gathered facts, else its C(ansible_host),
    else its inventory name.
options:
  _input:
    description: Inventory name of the host whose address is wanted.
    type: string
    required: true
  hostvars:
    description: The C(hostvars) of the play.
    type: dict
    required: true
  local:
    description: Inventory name of the host asking, usually C(inventory_hostname); omit it to never get loopback.
    type: string
"""

EXAMPLES = r"""
- name: Where this tracking node finds the database
  ansible.builtin.debug:
    msg: "{{ groups['mlflow_db'][0] | mlops.mlflow.host_address(hostvars, inventory_hostname) }}"

- name: Every tracking node, as the database server sees it
  ansible.builtin.debug:
    msg: "{{ groups['mlflow_tracking'] | map('mlops.mlflow.host_address', hostvars) | list }}"
"""

RETURN = r"""
_value:
  description: An IP address, or the host name when nothing better is known.
  type: string
"""


def host_address(host, hostvars, local=None):
    if local is not None and host == local:
        return "127.0.0.1"
    variables = hostvars[host] if host in hostvars else {}
    facts = variables.get("ansible_facts") or {}
    address = (facts.get("default_ipv4") or {}).get("address")
    return address or variables.get("ansible_host") or host


class FilterModule(object):
    """mlops.mlflow.host_address"""

    def filters(self):
        return {"host_address": host_address}
