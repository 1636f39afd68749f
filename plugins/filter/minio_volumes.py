# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: minio_volumes
short_description: Check MinIO drive specifications and list the directories they name
version_added: 0.1.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Take the drives of a MinIO server, as one string (entries separated by white space) or a list, and
    return the value for C(MINIO_VOLUMES) together with the directories the entries name.
  - 'Each entry is either a local path (V(/var/lib/minio/data), V(/srv/minio/disk{1...4})) or, for a
    multi-node pool, a URL with a path (V(https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio)).
    Local paths and URLs cannot be mixed, as in MinIO itself.'
  - Ranges written C({a...b}) with decimal bounds are expanded into the directory list (V({01...16}) keeps
    the leading zero); C(MINIO_VOLUMES) keeps them unexpanded, as MinIO expands them itself.
options:
  _input:
    description: The drives, one string or a list of strings.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Four drives on one host
  ansible.builtin.debug:
    msg: "{{ '/srv/minio/disk{1...4}' | mlops.mlflow.minio_volumes }}"
    # {"volumes": "/srv/minio/disk{1...4}", "paths": ["/srv/minio/disk1", ..., "/srv/minio/disk4"],
    #  "distributed": false}

- name: A pool of four nodes with four drives each
  ansible.builtin.debug:
    msg: "{{ ['https://minio{1...4}.example.net:9000/mnt/disk{1...4}/minio'] | mlops.mlflow.minio_volumes }}"
    # paths: /mnt/disk1/minio ... /mnt/disk4/minio, distributed: true
"""

RETURN = r"""
_value:
  description: What the drives specify.
  type: dict
  contains:
    volumes:
      description: The value for C(MINIO_VOLUMES), the entries separated by a space.
      type: string
    paths:
      description: The directories the entries name on a node, ranges expanded, sorted, each once.
      type: list
      elements: string
    distributed:
      description: Whether the entries are URLs of a multi-node pool.
      type: bool
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

_RANGE = re.compile(r"\{([^{}]*)\.\.\.([^{}]*)\}")
_DECIMAL = re.compile(r"^[0-9]+$")
_URL = re.compile(r"^https?://[^/\s]+(/\S*)$")
# Keep a typo from making thousands of directories.
_MAX_PATHS = 1024


def _fail(message):
    raise AnsibleFilterError("minio_volumes: " + message)


def _expand(entry, text):
    """Every string the {a...b} ranges of text stand for, in order."""
    match = _RANGE.search(text)
    if not match:
        return [text]
    first, last = match.groups()
    if not (_DECIMAL.match(first) and _DECIMAL.match(last)) or int(first) > int(last):
        _fail("%r: write ranges as {FIRST...LAST} with decimal numbers, FIRST <= LAST" % entry)
    width = len(first) if first.startswith("0") else 0
    head, tail = text[:match.start()], _expand(entry, text[match.end():])
    return ["%s%0*d%s" % (head, width, number, rest) for number in range(int(first), int(last) + 1) for rest in tail]


def minio_volumes(value):
    """Return {volumes, paths, distributed} for the drives of a MinIO server."""
    if isinstance(value, string_types):
        entries = to_text(value).split()
    elif isinstance(value, (list, tuple)):
        entries = []
        for item in value:
            if not isinstance(item, string_types):
                _fail("every entry must be a string, got %r" % (item,))
            entries.extend(to_text(item).split())
    else:
        _fail("expected a string or a list of strings, got %r" % (value,))
    if not entries:
        _fail("no drives given")
    urls = [entry for entry in entries if _URL.match(entry)]
    if urls and len(urls) != len(entries):
        _fail("local paths and URLs cannot be mixed: %s" % " ".join(entries))
    paths = []
    for entry in entries:
        path = _URL.match(entry).group(1) if urls else entry
        if not path.startswith("/") or path.rstrip("/") == "":
            _fail("%r is neither an absolute path below / nor an http(s)://host[:port]/path URL" % entry)
        if "/../" in path + "/" or "/./" in path + "/":
            _fail("%r: write the path without . or .. parts" % entry)
        paths.extend(p.rstrip("/") for p in _expand(entry, path))
        if len(paths) > _MAX_PATHS:
            _fail("more than %d directories: check the ranges" % _MAX_PATHS)
    return {"volumes": " ".join(entries), "paths": sorted(set(paths)), "distributed": bool(urls)}


class FilterModule(object):
    """mlops.mlflow.minio_volumes"""

    def filters(self):
        return {"minio_volumes": minio_volumes}
