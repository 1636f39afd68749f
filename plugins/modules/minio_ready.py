#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: minio_ready
short_description: Wait until the local MinIO server is ready
version_added: 0.1.0
description:
  - Waits until C(GET /minio/health/ready) of the MinIO server of this host answers 200. A pool
    answers so only once enough of its nodes are up.
  - The endpoint and whether it speaks TLS come from the server's environment file O(env_file)
    (C(--address) and C(--certs-dir) in C(MINIO_OPTS)). Over TLS, the certificate is checked against
    the server's own C(public.crt) and C(CAs/), for O(tls_server_name).
  - Never changes anything.
author:
  - mlops.mlflow developers (@mlops)
requirements:
  - urllib3 (a dependency of the minio Python client)
options:
  env_file:
    description:
      - The MinIO server's environment file, as the P(mlops.mlflow.minio#role) role writes it.
    type: path
    required: true
  timeout:
    description:
      - Seconds to wait before failing.
    type: int
    default: 120
  tls_server_name:
    description:
      - The name the server's certificate must carry. V(localhost) when empty.
    type: str
    default: ""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
seealso:
  - module: mlops.mlflow.minio_bucket
"""

EXAMPLES = r"""
- name: Wait until MinIO is ready
  mlops.mlflow.minio_ready:
    env_file: /etc/default/minio
    timeout: 180
    tls_server_name: minio1.example.net
  vars:
    ansible_python_interpreter: /opt/minio/admin-venv/bin/python
"""

RETURN = r"""
url:
  description: The health URL that answered.
  returned: always
  type: str
  sample: http://127.0.0.1:9000/minio/health/ready
seconds:
  description: How long the server took to answer 200.
  returned: success
  type: float
  sample: 1.5
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.mlflow.plugins.module_utils.minio_admin import (
    HAS_URLLIB3,
    URLLIB3_IMPORT_ERROR,
    MinioAdminError,
    Server,
    wait_ready,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            env_file=dict(type="path", required=True),
            timeout=dict(type="int", default=120),
            tls_server_name=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    if not HAS_URLLIB3:
        module.fail_json(msg=missing_required_lib("urllib3"), exception=URLLIB3_IMPORT_ERROR)
    try:
        server = Server(module.params["env_file"], module.params["tls_server_name"])
        url = server.url("/minio/health/ready")
        seconds = wait_ready(server, module.params["timeout"])
    except MinioAdminError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, url=url, seconds=seconds)


if __name__ == "__main__":
    main()
