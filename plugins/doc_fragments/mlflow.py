# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The connection options every module shares (module_utils/client.py mlflow_argument_spec).
    DOCUMENTATION = r"""
options:
  tracking_uri:
    description:
      - Base URL of the MLflow tracking server, with the path prefix if it is served under one
        (for example V(https://mlflow.example.com/mlflow)).
      - If not set, the environment variable E(MLFLOW_TRACKING_URI) is used.
    type: str
    default: http://127.0.0.1:5000
    aliases: [url]
  auth_username:
    description:
      - User name for HTTP Basic authentication.
      - If not set, the environment variable E(MLFLOW_TRACKING_USERNAME) is used.
      - Basic authentication is used when both O(auth_username) and O(auth_password) are set;
        otherwise O(auth_token) is sent as a Bearer token if it is set.
    type: str
  auth_password:
    description:
      - Password for HTTP Basic authentication.
      - If not set, the environment variable E(MLFLOW_TRACKING_PASSWORD) is used.
    type: str
  auth_token:
    description:
      - Bearer token, for servers behind a proxy that accepts tokens.
      - If not set, the environment variable E(MLFLOW_TRACKING_TOKEN) is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
      - If not set, certificates are verified unless the environment variable
        E(MLFLOW_TRACKING_INSECURE_TLS) is V(true).
    type: bool
  ca_path:
    description:
      - CA bundle to verify the server's certificate with.
      - If not set, the environment variable E(MLFLOW_TRACKING_SERVER_CERT_PATH) is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for mutual TLS. It may also contain the private key.
      - If not set, the environment variable E(MLFLOW_TRACKING_CLIENT_CERT_PATH) is used.
    type: path
  client_key:
    description:
      - Private key (PEM) of O(client_cert), when it is a separate file.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: float
    default: 30
  retries:
    description:
      - How many times to retry a request after a connection error or an HTTP 429, 502, 503
        or 504 answer, with exponential backoff (1, 2, 4... seconds, at most 30).
      - Only reads and writes that are safe to repeat are retried; creates and deletes are not.
    type: int
    default: 3
notes:
  - The modules talk to the MLflow REST API with C(ansible.module_utils.urls); they need no
    Python library on the host that runs them, usually the controller (C(delegate_to=localhost)).
  - Set the connection once for all modules with the C(group/mlops.mlflow.mlflow) action group in
    C(module_defaults), as the examples do.
"""

    # Tag options of the objects that carry tags (module_utils/common.py tags_argument_spec).
    TAGS = r"""
options:
  tags:
    description:
      - Tags to set, as a map of key to value. Values are converted to strings.
      - Leave out to leave the tags alone.
    type: dict
  purge_tags:
    description:
      - Whether to remove tags that are not in O(tags). Has no effect when O(tags) is not set.
      - Tags whose key starts with C(mlflow.) belong to MLflow and are never purged.
    type: bool
    default: true
"""

    # Attributes shared by the modules that change MLflow objects.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: full
    membership:
      - mlops.mlflow.mlflow
"""
