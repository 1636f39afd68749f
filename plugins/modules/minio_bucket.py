#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: minio_bucket
short_description: Make MLflow's bucket, a policy confined to it and its user on a local MinIO server
version_added: 0.1.0
description:
  - Creates the bucket, a canned policy, and a user with its secret key and exactly that policy, on
    the MinIO server of this host, through MinIO's admin API. Optionally writes a Prometheus bearer
    token file.
  - The root credentials and the endpoint come from the server's environment file O(env_file)
    (C(MINIO_ROOT_USER), C(MINIO_ROOT_PASSWORD), C(--address) and C(--certs-dir) in C(MINIO_OPTS)),
    so no root secret is a module option or appears on a command line.
  - A user's secret key cannot be read back. The module checks O(secret_key) with a request signed
    with it, and sets it only when MinIO rejects it.
  - Runs on the MinIO host with a Python that has the C(minio) package, for example the admin venv
    of the P(mlops.mlflow.minio#role) role through C(ansible_python_interpreter).
author:
  - mlops.mlflow developers (@mlops)
requirements:
  - minio (the Python client)
options:
  env_file:
    description:
      - The MinIO server's environment file, as the P(mlops.mlflow.minio#role) role writes it.
    type: path
    required: true
  bucket:
    description:
      - Name of the bucket.
    type: str
    required: true
  policy_name:
    description:
      - Name of the canned policy.
    type: str
    required: true
  policy:
    description:
      - The IAM policy document. Compared with the stored one by meaning (the order of statements,
        actions and resources does not matter).
    type: dict
    required: true
  access_key:
    description:
      - Access key (name) of the user.
    type: str
    required: true
  secret_key:
    description:
      - Secret key of the user.
    type: str
    required: true
  tls_server_name:
    description:
      - The name the server's certificate must carry, when the server speaks TLS (the certificate
        directory holds C(public.crt)). V(localhost) when empty.
    type: str
    default: ""
  prometheus_token_file:
    description:
      - Where to write a Prometheus bearer token (mode 0600), a JWT signed with the root secret key
        as C(mc admin prometheus generate) makes it, valid ten years. Rewritten when the root
        credentials changed, it is close to its expiry, or its mode is not 0600.
      - No token is managed when left out.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - The diff shows the bucket, the policy, the user's status and policies, and whether MinIO
        accepts the secret key and the token is current; never a secret.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Users and policies are left alone apart from the one user and policy named here.
seealso:
  - module: mlops.mlflow.minio_ready
"""

EXAMPLES = r"""
- name: Make the MLflow bucket, its policy and its user
  mlops.mlflow.minio_bucket:
    env_file: /etc/default/minio
    bucket: mlflow
    policy_name: mlflow-bucket
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:ListBucket, s3:GetBucketLocation]
          Resource: ["arn:aws:s3:::mlflow"]
        - Effect: Allow
          Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]
          Resource: ["arn:aws:s3:::mlflow/*"]
    access_key: mlflow
    secret_key: "{{ vault_mlflow_s3_secret_key }}"
    prometheus_token_file: /etc/minio/prometheus.token
  vars:
    ansible_python_interpreter: /opt/minio/admin-venv/bin/python
"""

RETURN = r"""
changes:
  description: What was changed, or would be in check mode, in this order.
  returned: always
  type: list
  elements: str
  sample: [bucket created, policy created, user created, user policy set, prometheus token written]
bucket:
  description: Name of the bucket.
  returned: always
  type: str
  sample: mlflow
policy:
  description: Name of the policy.
  returned: always
  type: str
  sample: mlflow-bucket
user:
  description: Access key of the user.
  returned: always
  type: str
  sample: mlflow
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.mlflow.plugins.module_utils.minio_admin import (
    HAS_MINIO,
    HAS_URLLIB3,
    MINIO_IMPORT_ERROR,
    URLLIB3_IMPORT_ERROR,
    MinioAdminError,
    Server,
    apply,
    desired_view,
    plan,
    read_state,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            env_file=dict(type="path", required=True),
            bucket=dict(type="str", required=True),
            policy_name=dict(type="str", required=True),
            policy=dict(type="dict", required=True),
            access_key=dict(type="str", required=True, no_log=False),
            secret_key=dict(type="str", required=True, no_log=True),
            tls_server_name=dict(type="str", default=""),
            prometheus_token_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_MINIO:
        module.fail_json(msg=missing_required_lib("minio"), exception=MINIO_IMPORT_ERROR)
    if not HAS_URLLIB3:
        module.fail_json(msg=missing_required_lib("urllib3"), exception=URLLIB3_IMPORT_ERROR)
    p = module.params
    token_file = p["prometheus_token_file"] or ""
    now = time.time()
    result = dict(changed=False, changes=[], bucket=p["bucket"], policy=p["policy_name"], user=p["access_key"])
    try:
        server = Server(p["env_file"], p["tls_server_name"])
        before = read_state(server, p["bucket"], p["policy_name"], p["access_key"], p["secret_key"], token_file, now)
        changes = plan(before, p["policy_name"], p["policy"], token_file)
        if not changes:
            module.exit_json(**result)
        result.update(changed=True, changes=changes)
        if module._diff:
            result["diff"] = dict(before=before, after=desired_view(before, p["policy_name"], p["policy"], token_file))
        if module.check_mode:
            module.exit_json(**result)
        apply(server, changes, p["bucket"], p["policy_name"], p["policy"], p["access_key"], p["secret_key"], token_file, now)
    except MinioAdminError as error:
        module.fail_json(msg=str(error), **result)
    except Exception as error:  # pylint: disable=broad-except  # S3, admin API and TLS errors of the client
        module.fail_json(msg="%s: %s" % (type(error).__name__, error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
