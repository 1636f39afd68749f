#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: model_version
short_description: Register and manage versions of MLflow registered models
version_added: 0.1.0
description:
  - Register a model version from a source URI and optionally a run, idempotently, and manage its
    description, tags, aliases and (for MLflow 2 users) stage through the MLflow REST API.
  - MLflow adds a new version on every registration call. This module first looks for an existing
    version of the model with the same O(source) and O(run_id), and registers a new one only when
    there is none. When several match, the newest is used.
  - Or address an existing version directly by its O(version) number.
author:
  - mlops.mlflow developers (@mlops)
options:
  name:
    description:
      - Name of the registered model. It must exist; create it with M(mlops.mlflow.registered_model).
    type: str
    required: true
  version:
    description:
      - Version number of an existing version to manage.
      - Required when O(source) is not set.
    type: str
  source:
    description:
      - URI of the model artifacts, for example V(runs:/<run_id>/model), V(s3://bucket/path/model)
        or the run's artifact URI followed by the model path.
      - Identifies the version together with O(run_id) when O(version) is not set.
      - The MLflow server checks that a C(runs:/) or proxied-artifact source belongs to O(run_id).
    type: str
  run_id:
    description:
      - ID of the run that produced the model.
      - Versions registered without a run match only when O(run_id) is not set.
    type: str
  run_link:
    description:
      - Link to the run, stored with a new version. Not compared afterwards.
    type: str
  state:
    description:
      - V(present) registers the version if needed and updates it.
      - V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the version. V("") clears it.
    type: str
  aliases:
    description:
      - Aliases that point at this version. An alias that points at another version of the model
        is moved here.
      - Leave out to leave the aliases alone.
    type: list
    elements: str
  purge_aliases:
    description:
      - Whether to remove aliases of this version that are not in O(aliases). Has no effect when
        O(aliases) is not set.
    type: bool
    default: true
  stage:
    description:
      - Stage of the version. Stages are deprecated since MLflow 2.9 in favour of aliases, but still
        work in MLflow 3.
    type: str
    choices: ["None", Staging, Production, Archived]
  archive_existing_versions:
    description:
      - When moving the version to O(stage) V(Staging) or V(Production), archive the other versions
        in that stage.
    type: bool
    default: false
  await_registration_for:
    description:
      - Seconds to wait for a new version to leave the C(PENDING_REGISTRATION) status.
    type: int
    default: 300
extends_documentation_fragment:
  - mlops.mlflow.mlflow
  - mlops.mlflow.mlflow.tags
  - mlops.mlflow.mlflow.attributes
seealso:
  - module: mlops.mlflow.registered_model
"""

EXAMPLES = r"""
# In a CI job, the connection comes from MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME
# and MLFLOW_TRACKING_PASSWORD, as for the MLflow client; module_defaults only tunes it.
- name: Register models
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/mlops.mlflow.mlflow:
      timeout: 60
      retries: 5
  tasks:
    - name: Register the model logged by a training run and make it the champion
      mlops.mlflow.model_version:
        name: fraud-classifier
        source: "runs:/{{ training_run_id }}/model"
        run_id: "{{ training_run_id }}"
        description: Trained on the November snapshot
        tags:
          dataset: 2026-11
        aliases:
          - champion
      register: registered

    - name: Show the version number
      ansible.builtin.debug:
        msg: "fraud-classifier version {{ registered.model_version.version }}"

    - name: Move an existing version to Production (MLflow 2 stages)
      mlops.mlflow.model_version:
        name: fraud-classifier
        version: "3"
        stage: Production
        archive_existing_versions: true

    - name: Delete a version
      mlops.mlflow.model_version:
        name: fraud-classifier
        version: "1"
        state: absent
"""

RETURN = r"""
model_version:
  description:
    - The model version as the server returns it after the change (C(model-versions/get)).
    - Empty when the version is absent. In check mode, the version as it is before the change.
  returned: always
  type: dict
  sample:
    name: fraud-classifier
    version: "3"
    source: runs:/0f5a0c44d1e2441e9f5b4b0f3f8e1b2c/model
    run_id: 0f5a0c44d1e2441e9f5b4b0f3f8e1b2c
    status: READY
    current_stage: None
    description: Trained on the November snapshot
    creation_timestamp: 1763800000000
    last_updated_timestamp: 1763800000000
    tags:
      - key: dataset
        value: 2026-11
    aliases:
      - champion
"""

import time

from ansible_collections.mlops.mlflow.plugins.module_utils.client import tags_to_dict
from ansible_collections.mlops.mlflow.plugins.module_utils.common import (
    MlflowModule,
    apply_map,
    merge_tags,
    tags_argument_spec,
)

PENDING = "PENDING_REGISTRATION"


class ModelVersionModule(MlflowModule):
    result_key = "model_version"
    module_kwargs = dict(required_one_of=[("version", "source")])

    def read(self):
        params = self.params
        if params["version"]:
            found = self.client.get_model_version(params["name"], params["version"])
            if found and params["source"] and found.get("source") != params["source"]:
                self.fail("Version %s of %r has source %r, not %r." % (
                    params["version"], params["name"], found.get("source"), params["source"]))
            return found
        run_id = params["run_id"] or ""
        matches = [
            mv for mv in self.client.search_model_versions(params["name"], params["run_id"])
            if mv.get("source") == params["source"] and (mv.get("run_id") or "") == run_id
        ]
        if not matches:
            return None
        # Search results lack some fields (aliases), so read the newest match itself.
        newest = max(matches, key=lambda mv: int(mv["version"]))
        return self.client.get_model_version(newest["name"], newest["version"])

    def view(self, obj):
        return {
            "name": obj["name"],
            "version": str(obj["version"]),
            "source": obj.get("source"),
            "run_id": obj.get("run_id") or "",
            "description": obj.get("description") or "",
            "tags": tags_to_dict(obj.get("tags")),
            "aliases": sorted(obj.get("aliases") or []),
            "current_stage": obj.get("current_stage") or "None",
        }

    def desired(self, have):
        params = self.params
        if have:
            want = dict(have)
        elif params["source"]:
            want = {"name": params["name"], "source": params["source"], "run_id": params["run_id"] or "",
                    "description": "", "tags": {}, "aliases": [], "current_stage": "None"}
        else:
            self.fail("Version %s of %r does not exist; set source to register a new version."
                      % (params["version"], params["name"]))
        if params["description"] is not None:
            want["description"] = params["description"]
        want["tags"] = merge_tags(want["tags"], params["tags"], params["purge_tags"])
        if params["aliases"] is not None:
            keep = [] if params["purge_aliases"] else want["aliases"]
            want["aliases"] = sorted(set(keep) | set(params["aliases"]))
        if params["stage"] is not None:
            want["current_stage"] = params["stage"]
        return want

    def create(self, want, obj):
        created = self.client.create_model_version(
            want["name"], want["source"], run_id=want["run_id"], description=want["description"],
            tags=want["tags"], run_link=self.params["run_link"])
        created = self._await_ready(created)
        self.update(created, self.view(created), want)

    def _await_ready(self, mv):
        deadline = time.time() + self.params["await_registration_for"]
        while mv.get("status") == PENDING and time.time() < deadline:
            time.sleep(1)
            mv = self.client.get_model_version(mv["name"], mv["version"]) or mv
        return mv

    def update(self, obj, have, want):
        name, version = obj["name"], str(obj["version"])
        if want["description"] != have["description"]:
            self.client.update_model_version(name, version, want["description"])
        apply_map(
            have["tags"], want["tags"],
            lambda key, value: self.client.set_model_version_tag(name, version, key, value),
            lambda key: self.client.delete_model_version_tag(name, version, key),
        )
        apply_map(
            dict.fromkeys(have["aliases"], version), dict.fromkeys(want["aliases"], version),
            lambda alias, _version: self.client.set_alias(name, alias, version),
            lambda alias: self.client.delete_alias(name, alias),
        )
        if want["current_stage"] != have["current_stage"]:
            self.client.transition_model_version_stage(
                name, version, want["current_stage"], self.params["archive_existing_versions"])

    def delete(self, obj):
        self.client.delete_model_version(obj["name"], obj["version"])


def main():
    ModelVersionModule(dict(
        name=dict(type="str", required=True),
        version=dict(type="str"),
        source=dict(type="str"),
        run_id=dict(type="str"),
        run_link=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        **tags_argument_spec(),
        aliases=dict(type="list", elements="str"),
        purge_aliases=dict(type="bool", default=True),
        stage=dict(type="str", choices=["None", "Staging", "Production", "Archived"]),
        archive_existing_versions=dict(type="bool", default=False),
        await_registration_for=dict(type="int", default=300),
    )).run()


if __name__ == "__main__":
    main()
