# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one table of what each MLflow release can do, read by roles (filter mlflow_features), modules and helpers."""

from __future__ import annotations

import re

# Release lines the collection knows, as (first, last) minor versions, inclusive. A version outside
# them is refused by the roles' preflight. 2.22 is the last MLflow 2 line; 3.18 is the newest 3.x
# published when this table was written.
KNOWN_LINES = (((2, 22), (2, 22)), ((3, 0), (3, 18)))

# Tested releases, named in error messages.
TESTED = ("2.22.5", "3.16.1", "3.17.2")

# Feature: the first release that has it.
FEATURES = {
    # FastAPI app (mlflow.server.fastapi_app:app) on uvicorn workers; Flask on gthread before.
    "fastapi_app": (3, 0),
    # The basic-auth app can run under the FastAPI app (_MLFLOW_SGI_NAME=uvicorn).
    "auth_on_fastapi": (3, 4),
    # Security middleware: MLFLOW_SERVER_ALLOWED_HOSTS, CORS origins, X-Frame-Options.
    "security_middleware": (3, 5),
    # The auth database keeps its own alembic table, alembic_version_auth.
    "auth_version_table": (3, 6),
    # The server serves /health and /version under the static prefix, not only the UI.
    "prefixed_health": (3, 7),
    # /api/3.0/mlflow/server-info.
    "server_info_endpoint": (3, 10),
    # Every route, the REST API included, is served under the static prefix.
    "prefixed_api": (3, 12),
    # The auth app can remember accepted credentials per worker (auth_cache_ttl_seconds); first seen
    # in 3.12.0 (absent from 3.11.1).
    "auth_cache": (3, 12),
    # One role-based permission API (/api/3.0/mlflow/users/permissions/*) replaces the per-type ones.
    "permissions_v3": (3, 13),
    # _MLFLOW_AUTH_ADMIN_BOOTSTRAPPED lets workers skip the admin bootstrap.
    "auth_bootstrap_flag": (3, 16),
}


def parse_version(text):
    """'3.17.2' or '3.18.0rc1' as a tuple of ints; (0,) when it cannot be read."""
    numbers = []
    for part in str(text).split(".")[:3]:
        match = re.match(r"\d+", part)
        if not match:
            break
        numbers.append(int(match.group(0)))
    return tuple(numbers) or (0,)


def is_known(text):
    """Whether a release version (major.minor.patch) lies inside a line the table knows."""
    if not re.match(r"^\d+\.\d+\.\d+$", str(text)):
        return False
    minor = parse_version(text)[:2]
    return any(first <= minor <= last for first, last in KNOWN_LINES)


def has(text, feature):
    return parse_version(text) >= FEATURES[feature]


def features(text):
    """Every feature flag for one version, plus the derived values the roles use."""
    flags = {name: has(text, name) for name in FEATURES}
    flags["known"] = is_known(text)
    flags["line"] = "3" if flags["fastapi_app"] else "2"
    # Which routes the server itself serves under the path prefix; the proxy maps the rest to the root.
    flags["prefix_scope"] = "all" if flags["prefixed_api"] else ("health" if flags["prefixed_health"] else "ui")
    return flags


def known_lines_text():
    return ", ".join(
        "%d.%d" % first if first == last else "%d.%d to %d.%d" % (first + last) for first, last in KNOWN_LINES
    )
