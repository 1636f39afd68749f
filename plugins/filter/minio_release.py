# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: minio_release
short_description: Read a MinIO release tag as a sortable UTC timestamp
version_added: 0.1.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Find the MinIO release tag in a text, such as the output of C(minio --version)
    (V(minio version RELEASE.2025-09-07T16-13-09Z (commit-id=...\))) or a bare tag such as
    V(RELEASE.2025-10-15T17-29-55Z), and return its time as V(2025-10-15T17:29:55Z).
  - The returned strings have one fixed width, so comparing two of them as strings compares the
    release times; the mlops.mlflow.minio role compares the installed release with the oldest one it
    accepts and with the releases that fixed known vulnerabilities.
  - A hotfix suffix (V(RELEASE.2025-09-07T16-13-09Z.hotfix.1a2b3c4d)) is ignored, as the time is that of the
    release the hotfix was made from.
  - C(DEVELOPMENT.*) tags, which source builds carry unless they were built with C(MINIO_RELEASE=RELEASE),
    are not release tags; neither is C(DEVELOPMENT.GOGET) of a plain C(go build).
options:
  _input:
    description: A text holding a C(RELEASE.YYYY-MM-DDTHH-MM-SSZ) tag.
    type: string
    required: true
  default:
    description:
      - Returned when the text holds no release tag, instead of failing.
      - Lets a role assert on the result with its own message.
    type: string
"""

EXAMPLES = r"""
- name: Compare the installed release with the oldest one supported
  ansible.builtin.assert:
    that: >-
      (minio_version_output | mlops.mlflow.minio_release)
      >= ('RELEASE.2025-01-20T14-49-07Z' | mlops.mlflow.minio_release)
    fail_msg: This MinIO release is too old.
  vars:
    minio_version_output: "minio version RELEASE.2025-09-07T16-13-09Z (commit-id=07c3a429bfed433e49018cb0f78a52145d4bedeb)"

- name: An empty string instead of an error when there is no tag
  ansible.builtin.debug:
    msg: "{{ 'minio version DEVELOPMENT.GOGET' | mlops.mlflow.minio_release(default='') }}"  # ""
"""

RETURN = r"""
_value:
  description: The release time in UTC as C(YYYY-MM-DDTHH:MM:SSZ), or O(default) when no tag was found.
  type: string
"""

import datetime
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# The tag is the release time with ':' replaced by '-', after "RELEASE.".
_TAG = re.compile(r"\bRELEASE\.(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z")
_NO_DEFAULT = object()


def minio_release(value, default=_NO_DEFAULT):
    """Return the release time of the first MinIO release tag in value as YYYY-MM-DDTHH:MM:SSZ."""
    match = _TAG.search(to_text(value, errors="surrogate_or_strict"))
    if match:
        try:
            moment = datetime.datetime(*(int(field) for field in match.groups()))
        except ValueError:
            match = None  # the shape of a tag, but no real date, such as month 13
        else:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if default is not _NO_DEFAULT:
        return default
    raise AnsibleFilterError(
        "minio_release: no MinIO release tag (RELEASE.YYYY-MM-DDTHH-MM-SSZ) in %r; a source build "
        "needs MINIO_RELEASE=RELEASE and the release's time when it is built" % to_text(value)[:200])


class FilterModule(object):
    """mlops.mlflow.minio_release"""

    def filters(self):
        return {"minio_release": minio_release}
