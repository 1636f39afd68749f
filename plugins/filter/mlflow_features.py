# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mlflow_features
short_description: What an MLflow release can do, from the collection's one version table
version_added: 0.3.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Returns a dictionary of feature flags for an MLflow version, read from the table the roles, the
    modules and the helpers share, so that no role compares versions itself.
  - C(known) tells whether the version lies inside a release line the table knows; the roles refuse others.
options:
  _input:
    description: An MLflow version such as V(3.17.2).
    type: string
    required: true
"""

EXAMPLES = r"""
- name: Serve the FastAPI app only where MLflow has one
  ansible.builtin.debug:
    msg: "{{ 'uvicorn' if (mlflow_version | mlops.mlflow.mlflow_features).fastapi_app else 'gthread' }}"
"""

RETURN = r"""
_value:
  description:
    - One boolean per feature (C(fastapi_app), C(auth_on_fastapi), C(security_middleware), C(auth_version_table),
      C(prefixed_health), C(server_info_endpoint), C(prefixed_api), C(permissions_v3), C(auth_bootstrap_flag)), plus
      C(known), C(line) (V(2) or V(3)) and C(prefix_scope) (V(all), V(health) or V(ui)).
  type: dict
"""

from ansible_collections.mlops.mlflow.plugins.module_utils.versions import features


def mlflow_features(version):
    return features(version)


class FilterModule(object):
    """mlops.mlflow.mlflow_features"""

    def filters(self):
        return {"mlflow_features": mlflow_features}
