#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: server_info
short_description: Read the health, version and facts of an MLflow tracking server
version_added: 0.1.0
description:
  - Report whether an MLflow server is healthy (C(/health)), its version (C(/version)), whether it
    asks for credentials, which permission API it has, and its server facts
    (C(/api/3.0/mlflow/server-info), MLflow 3.10 and later).
  - With O(wait_for), wait until the server is healthy, and runs O(expected_version) if that is set,
    so that roles can gate on a deploy.
  - Never changes anything.
author:
  - mlops.mlflow developers (@mlops)
options:
  wait_for:
    description:
      - Wait until the server answers C(/health) with C(OK), and its version is O(expected_version)
        if that is set. Fail after O(wait_timeout) seconds.
      - Without it, an unreachable server is reported with RV(server_info.healthy=false).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait_for).
    type: int
    default: 120
  expected_version:
    description:
      - The MLflow version the server must run, for example V(3.17.2). The module fails when the
        server runs another one (after O(wait_timeout) seconds with O(wait_for)).
    type: str
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.attributes
attributes:
  diff_mode:
    support: none
notes:
  - C(/version) needs credentials on servers with authentication; without them RV(server_info.version)
    is empty and a warning is given.
"""

EXAMPLES = r"""
- name: Gate a deploy on the new version answering
  hosts: mlflow_tracking
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      tracking_uri: "http://127.0.0.1:5000"
      auth_username: admin
      auth_password: "{{ vault_mlflow_admin_password }}"
  tasks:
    - name: Wait for MLflow 3.17.2 to answer
      mlops.mlflow.server_info:
        wait_for: true
        wait_timeout: 180
        expected_version: 3.17.2

    - name: Read the server facts
      mlops.mlflow.server_info:
      register: mlflow

    - name: Show them
      ansible.builtin.debug:
        msg: "MLflow {{ mlflow.server_info.version }}, auth {{ mlflow.server_info.auth_enabled }}"
"""

RETURN = r"""
server_info:
  description: What the server reports about itself.
  returned: always
  type: dict
  contains:
    tracking_uri:
      description: The URL that was asked.
      type: str
      sample: http://127.0.0.1:5000
    healthy:
      description: Whether C(/health) answered C(OK).
      type: bool
      sample: true
    health:
      description: The body of C(/health), or the error when it could not be read.
      type: str
      sample: OK
    version:
      description: The MLflow version (C(/version)); empty when it could not be read.
      type: str
      sample: 3.17.2
    auth_enabled:
      description:
        - Whether the server refuses anonymous requests (the basic-auth app, or a proxy that asks
          for credentials). V(null) when the server is unreachable.
      type: bool
      sample: true
    permission_api:
      description:
        - The permission API the M(mlops.mlflow.permission) module uses with this server,
          V(v3) from MLflow 3.13, V(v2) before. Empty when the version is unknown.
      type: str
      sample: v3
    facts:
      description:
        - The C(/api/3.0/mlflow/server-info) document (MLflow 3.10 and later); V(null) on older servers.
      type: dict
      sample:
        store_type: SqlStore
        workspaces_enabled: false
        multipart_uploads_enabled: false
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlops.mlflow.plugins.module_utils.client import (
    PERMISSIONS_V3_SINCE,
    MlflowApiError,
    MlflowClient,
    mlflow_argument_spec,
    parse_version,
)


def probe(client):
    """One look at the server; never raises for an unreachable or unhealthy server."""
    info = {"tracking_uri": client.base_url, "healthy": False, "health": "", "version": "",
            "auth_enabled": None, "permission_api": "", "facts": None}
    try:
        info["health"] = client.health()
    except MlflowApiError as exc:
        info["health"] = str(exc)
        return info, None
    info["healthy"] = info["health"] == "OK"
    warning = None
    try:
        info["auth_enabled"] = client.auth_required()
        info["version"] = client.version(cached=False)
        info["facts"] = client.server_info()
    except MlflowApiError as exc:
        warning = str(exc)
    if info["version"]:
        info["permission_api"] = "v3" if parse_version(info["version"]) >= PERMISSIONS_V3_SINCE else "v2"
    return info, warning


def main():
    module = AnsibleModule(
        argument_spec=mlflow_argument_spec(
            wait_for=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=120),
            expected_version=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = MlflowClient(module)
    expected = params["expected_version"]
    deadline = time.time() + params["wait_timeout"]
    if params["wait_for"]:
        client.retries = 0  # the loop below retries
    while True:
        info, warning = probe(client)
        ready = info["healthy"] and (not expected or info["version"] == expected)
        if ready or not params["wait_for"] or time.time() >= deadline:
            break
        time.sleep(2)
    if warning:
        module.warn(warning)
    if params["wait_for"] and not info["healthy"]:
        module.fail_json(msg="MLflow at %s was not healthy after %d s: %s"
                         % (client.base_url, params["wait_timeout"], info["health"]), server_info=info)
    if expected and info["version"] != expected:
        module.fail_json(msg="MLflow at %s runs version %r, expected %r"
                         % (client.base_url, info["version"] or "unknown", expected), server_info=info)
    module.exit_json(changed=False, server_info=info)


if __name__ == "__main__":
    main()
