#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registered_model
short_description: Manage registered models in the MLflow model registry
version_added: 0.1.0
description:
  - Create, update and delete registered models, with their description, tags and aliases,
    through the MLflow REST API.
  - Deleting a registered model is permanent and deletes all its versions.
  - Register versions with M(mlops.mlflow.model_version).
author:
  - mlops.mlflow developers (@mlops)
options:
  name:
    description:
      - Name of the registered model.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the model; V(absent) deletes it with all its versions.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the model. V("") clears it.
    type: str
  aliases:
    description:
      - Aliases of the model, as a map of alias to version number, for example C(champion) to V(3).
      - Setting an alias that points at another version moves it.
      - The versions must exist. Leave out to leave the aliases alone.
    type: dict
  purge_aliases:
    description:
      - Whether to remove aliases that are not in O(aliases). Has no effect when O(aliases) is not set.
    type: bool
    default: true
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.tags
  - mlops.mlflow.mlflow.attributes
seealso:
  - module: mlops.mlflow.model_version
  - module: mlops.mlflow.permission
"""

EXAMPLES = r"""
- name: Manage registered models through a proxy that takes tokens, with a private CA
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      tracking_uri: https://mlflow.example.com/mlflow
      auth_token: "{{ vault_mlflow_token }}"
      ca_path: /etc/ssl/certs/internal-ca.pem
  tasks:
    - name: Create the fraud model
      mlops.mlflow.registered_model:
        name: fraud-classifier
        description: Card fraud classifier, owned by the risk team
        tags:
          team: risk

    - name: Promote version 3 to champion, keep version 2 as challenger
      mlops.mlflow.registered_model:
        name: fraud-classifier
        aliases:
          champion: 3
          challenger: 2

    - name: Delete a model and all its versions
      mlops.mlflow.registered_model:
        name: old-model
        state: absent
"""

RETURN = r"""
registered_model:
  description:
    - The registered model as the server returns it after the change (C(registered-models/get)).
    - Empty when the model is absent. In check mode, the model as it is before the change.
  returned: always
  type: dict
  sample:
    name: fraud-classifier
    description: Card fraud classifier, owned by the risk team
    creation_timestamp: 1763800000000
    last_updated_timestamp: 1763800000000
    latest_versions: []
    tags:
      - key: team
        value: risk
    aliases:
      - alias: champion
        version: "3"
"""

from ansible_collections.mlops.mlflow.plugins.module_utils.client import tags_to_dict
from ansible_collections.mlops.mlflow.plugins.module_utils.common import (
    MlflowModule,
    apply_map,
    merge_map,
    merge_tags,
    normalize_map,
    tags_argument_spec,
)


class RegisteredModelModule(MlflowModule):
    result_key = "registered_model"

    def read(self):
        return self.client.get_registered_model(self.params["name"])

    def view(self, obj):
        return {
            "name": obj["name"],
            "description": obj.get("description") or "",
            "tags": tags_to_dict(obj.get("tags")),
            "aliases": dict((a["alias"], str(a["version"])) for a in obj.get("aliases") or []),
        }

    def desired(self, have):
        params = self.params
        want = dict(have) if have else {"name": params["name"], "description": "", "tags": {}, "aliases": {}}
        if params["description"] is not None:
            want["description"] = params["description"]
        want["tags"] = merge_tags(want["tags"], params["tags"], params["purge_tags"])
        want["aliases"] = merge_map(want["aliases"], normalize_map(params["aliases"]), params["purge_aliases"])
        return want

    def create(self, want, obj):
        created = self.client.create_registered_model(want["name"], want["description"], want["tags"])
        if want["aliases"]:
            self.update(created, self.view(created), want)

    def update(self, obj, have, want):
        name = obj["name"]
        if want["description"] != have["description"]:
            self.client.update_registered_model(name, want["description"])
        apply_map(
            have["tags"], want["tags"],
            lambda key, value: self.client.set_registered_model_tag(name, key, value),
            lambda key: self.client.delete_registered_model_tag(name, key),
        )
        apply_map(
            have["aliases"], want["aliases"],
            lambda alias, version: self.client.set_alias(name, alias, version),
            lambda alias: self.client.delete_alias(name, alias),
        )

    def delete(self, obj):
        self.client.delete_registered_model(obj["name"])


def main():
    RegisteredModelModule(dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        **tags_argument_spec(),
        aliases=dict(type="dict"),
        purge_aliases=dict(type="bool", default=True),
    )).run()


if __name__ == "__main__":
    main()
