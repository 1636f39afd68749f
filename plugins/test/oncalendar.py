# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oncalendar
short_description: Is a schedule a cron or systemd OnCalendar expression a timer accepts
version_added: 0.1.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - True when P(mlops.mlflow.oncalendar#filter) turns the value into an C(OnCalendar=) expression and
    that expression has the shape systemd reads (a shortcut such as V(weekly), or an optional weekday
    list, a date, a time and an optional time zone), so a preflight can refuse a bad schedule before any
    host is changed, without C(systemd-analyze) on the host.
  - The shape is checked, not every calendar rule (V(*-02-31) passes here; systemd then never fires).
options:
  _input:
    description: The schedule, a systemd C(OnCalendar=) expression or a five-field cron expression.
    type: string
    required: true
"""

EXAMPLES = r"""
- name: Refuse a schedule a timer cannot read
  ansible.builtin.assert:
    that: mlflow_gc_schedule is mlops.mlflow.oncalendar
    fail_msg: mlflow_gc_schedule is neither an OnCalendar nor a five-field cron expression.
"""

RETURN = r"""
_value:
  description: Whether the value is a usable schedule.
  type: boolean
"""

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.mlops.mlflow.plugins.filter.oncalendar import oncalendar as _to_oncalendar

_SHORTCUTS = {"minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"}
_DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun",
         "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
# One component of a date or time: *, a number, a range a..b, a repetition x/n, lists of these.
_ITEM = r"(\*|[0-9]+(\.\.[0-9]+)?)(/[0-9]+)?"
_COMPONENT = re.compile(r"^%s(,%s)*$" % (_ITEM, _ITEM))
_SECONDS = re.compile(r"^(\*|[0-9]+(\.[0-9]+)?(\.\.[0-9]+)?)(/[0-9]+(\.[0-9]+)?)?(,(\*|[0-9]+(\.[0-9]+)?(\.\.[0-9]+)?)(/[0-9]+)?)*$")
_ZONE = re.compile(r"^(UTC|[A-Z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+|[A-Z]{3,5})$")


def _weekdays(token):
    for item in token.split(","):
        for day in item.split(".."):
            if day.lower() not in _DAYS:
                return False
    return True


def _date(token):
    # [year-]month-day; ~ counts days from the end of the month.
    parts = re.split(r"-|~", token)
    return 2 <= len(parts) <= 3 and token.count("~") <= 1 and all(_COMPONENT.match(part) for part in parts)


def _time(token):
    parts = token.split(":")
    if not 2 <= len(parts) <= 3:
        return False
    return all(_COMPONENT.match(part) for part in parts[:2]) and (len(parts) == 2 or bool(_SECONDS.match(parts[2])))


def _shape(expression):
    tokens = expression.split()
    if len(tokens) == 1 and tokens[0].lower() in _SHORTCUTS:
        return True
    if tokens and _ZONE.match(tokens[-1]) and len(tokens) > 1:
        tokens = tokens[:-1]
    if tokens and tokens[0][:1].isalpha():
        if not _weekdays(tokens[0]):
            return False
        tokens = tokens[1:]
        if not tokens:
            return True
    if len(tokens) == 2:
        return _date(tokens[0]) and _time(tokens[1])
    if len(tokens) == 1:
        return (":" in tokens[0] and _time(tokens[0])) or ("-" in tokens[0] and _date(tokens[0]))
    return False


def is_oncalendar(schedule):
    if not isinstance(schedule, str) or not schedule.strip():
        return False
    try:
        expression = _to_oncalendar(schedule.strip())
    except AnsibleFilterError:
        return False
    return _shape(expression)


class TestModule(object):
    """mlops.mlflow.oncalendar"""

    def tests(self):
        return {"oncalendar": is_oncalendar}
