# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the systemd environment files the roles write, so that secrets reach modules from files.

The roles write each line as KEY="value", with backslash and double quote escaped by a backslash.
"""

from __future__ import annotations

import os
import re

_ESCAPE = re.compile(r"\\(.)")


def parse_env_text(text):
    """The KEY=value pairs of an environment file's text, as a dict (comments and blanks skipped)."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _ESCAPE.sub(r"\1", value[1:-1])
        env[key.strip()] = value
    return env


def read_env_file(path):
    """The variables of the environment file at path."""
    with open(path, encoding="utf-8") as handle:
        return parse_env_text(handle.read())


def load_env_file(path):
    """Put the variables of the environment file at path into this process's environment."""
    env = read_env_file(path)
    os.environ.update(env)
    return env
