# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oncalendar
short_description: Turn a cron expression into a systemd OnCalendar expression
version_added: 0.1.0
author:
  - mlops.mlflow developers (@mlops)
description:
  - Take a schedule written either as a systemd C(OnCalendar=) expression or as a five-field cron
    expression, and return a systemd C(OnCalendar=) expression for a timer unit.
  - A value is read as cron when it has exactly five whitespace-separated fields
    (C(minute hour day-of-month month day-of-week)) made only of cron characters (digits, C(*), C(,),
    C(-), C(/), and day or month names such as C(MON) or C(JAN)). The cron shortcuts V(@hourly),
    V(@daily), V(@midnight), V(@weekly), V(@monthly), V(@yearly) and V(@annually) are accepted too.
  - Any other value is taken to be an C(OnCalendar=) expression already (for example V(daily),
    V(weekly), V(Sun *-*-* 03:00:00) or V(*-*-* 02:30:00)) and is returned unchanged.
  - 'Supported cron syntax: V(*), numbers, lists (V(1,15)), ranges (V(1-5)), steps (V(*/15), V(0-30/10),
    V(5/15) which is V(5-59/15)), day-of-week V(0) to V(7) where both V(0) and V(7) are Sunday,
    and the names V(SUN) to V(SAT) and V(JAN) to V(DEC) in any case, also in ranges (V(MON-FRI)).'
  - Ranges become C(a..b). Steps become a repetition C(a/n) where n divides the minutes of an hour,
    the hours of a day or the months of a year (V(*/15) minutes is C(00/15), V(*/6) hours is
    C(00/6), V(*/3) months is C(01/3)), and an explicit list otherwise (V(*/45) minutes is C(00,45),
    V(*/2) days of month is C(01,03,...,31), V(9-17/2) hours is C(09,11,13,15,17)), because systemd
    skips runs of other repetitions where they wrap around (for example C(*:00/45) skips 00:00 after
    23:45 on systemd 252).
  - Like cron, when both the day of month and the day of week are restricted (neither field starts
    with C(*)), the job runs on days that match B(either) field. One C(OnCalendar=) expression cannot
    say "or", so the filter fails for such a schedule and asks for C(OnCalendar=) expressions
    instead, unless one of the two fields covers every day (then the schedule runs daily).
options:
  _input:
    description:
      - The schedule, a systemd C(OnCalendar=) expression or a five-field cron expression.
    type: string
    required: true
notes:
  - Timer units read C(OnCalendar=) in the time zone of the host, as cron does, unless the expression
    names a time zone.
  - An C(OnCalendar=) expression is passed through without being checked; C(systemd-analyze calendar)
    checks one.
  - Two-field or one-field values made of cron characters only (V(Mon) or V(2025-01-01)) are valid
    C(OnCalendar=) expressions and are returned unchanged; values of three, four, six or more such
    fields fail as malformed cron expressions.
  - V(@weekly) gives systemd's V(weekly), which runs on Monday at midnight, while cron's V(@weekly)
    runs on Sunday at midnight; write V(0 0 * * 0) to keep cron's day. The other shortcuts run at the
    same times in both.
  - Not supported, and failing with an error, are V(@reboot) (use C(OnBootSec=) in the timer), the
    non-standard cron extensions C(?), C(L), C(W) and C(#), and six-field cron expressions with
    seconds or years.
seealso:
  - name: systemd.time(7)
    description: The syntax of calendar events.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.time.html#Calendar%20Events
  - name: crontab(5)
    description: The syntax of cron schedules.
    link: https://man7.org/linux/man-pages/man5/crontab.5.html
"""

EXAMPLES = r"""
- name: Cron and OnCalendar schedules give OnCalendar expressions
  ansible.builtin.debug:
    msg:
      - "{{ '30 2 * * 0' | mlops.mlflow.oncalendar }}"  # Sun *-*-* 02:30:00
      - "{{ '0 */6 * * *' | mlops.mlflow.oncalendar }}"  # *-*-* 00/6:00:00
      - "{{ '15 4 1 JAN,JUL *' | mlops.mlflow.oncalendar }}"  # *-01,07-01 04:15:00
      - "{{ '0 22 * * MON-FRI' | mlops.mlflow.oncalendar }}"  # Mon..Fri *-*-* 22:00:00
      - "{{ '@weekly' | mlops.mlflow.oncalendar }}"  # weekly
      - "{{ 'Sun *-*-* 03:00:00' | mlops.mlflow.oncalendar }}"  # Sun *-*-* 03:00:00, unchanged

- name: Let users give a backup schedule in either syntax
  ansible.builtin.template:
    src: mlflow-backup.timer.j2
    dest: /etc/systemd/system/mlflow-backup.timer
    mode: "0644"
  vars:
    # In the template: OnCalendar={{ mlflow_backup_schedule | mlops.mlflow.oncalendar }}
    mlflow_backup_schedule: "0 3 * * *"
"""

RETURN = r"""
_value:
  description:
    - A systemd C(OnCalendar=) expression, the input itself when that is not a cron expression.
    - Converted cron expressions have the form C([<weekdays> ]*-<month>-<day> <hour>:<minute>:00),
      for example V(Mon..Fri *-*-* 22:00:00).
  type: string
"""

import re

from ansible.errors import AnsibleFilterError

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # indexed by cron day number

_SHORTCUTS = {
    "@hourly": "hourly",
    "@daily": "daily",
    "@midnight": "daily",
    "@weekly": "weekly",
    "@monthly": "monthly",
    "@yearly": "yearly",
    "@annually": "yearly",
}

# Characters of the strict cron test of the documentation; letters must form day or month names.
_CRON_CHARS = re.compile(r"^[0-9*,/\-A-Za-z]+$")
_LETTERS = re.compile(r"[A-Za-z]+")
# Characters a mistyped or extended cron field may hold (but an OnCalendar time or date never lacks ':' or '.').
_LOOSE_CHARS = re.compile(r"^[0-9*,/\-A-Za-z?#]+$")
_NUMBER = re.compile(r"^[0-9]+$")


class _Field(object):
    """One cron field: its name, its bounds, and the names it accepts."""

    def __init__(self, label, low, high, names=None, name_offset=0, open_steps=True):
        self.label = label
        self.low = low
        self.high = high
        self.names = names
        self.name_offset = name_offset
        # Whether OnCalendar's open repetition 'a/n' may stand for this field's steps, see _steps().
        self.open_steps = open_steps


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DOM = _Field("day-of-month", 1, 31, open_steps=False)
_MONTH = _Field("month", 1, 12, _MONTH_NAMES, 1)
_DOW = _Field("day-of-week", 0, 7, _DAY_NAMES, 0, open_steps=False)
_FIELDS = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)


class _BadField(Exception):
    pass


def _is_cron_field(field):
    if not _CRON_CHARS.match(field):
        return False
    return all(run.lower() in _DAY_NAMES or run.lower() in _MONTH_NAMES for run in _LETTERS.findall(field))


def _value(text, spec):
    if _NUMBER.match(text):
        number = int(text)
        if not spec.low <= number <= spec.high:
            raise _BadField("%s is out of range %d-%d" % (text, spec.low, spec.high))
        return number
    if spec.names and text.lower() in spec.names:
        return spec.names.index(text.lower()) + spec.name_offset
    if text == "":
        raise _BadField("a number is missing")
    if spec.names:
        raise _BadField("%r is neither a number nor one of the names %s"
                        % (text, ", ".join(name.upper() for name in spec.names)))
    raise _BadField("%r is not a number" % text)


def _steps(start, step, spec):
    """OnCalendar text for cron's 'a/n' and '*/n': the values start, start + step, ... up to the field's end.

    systemd finds the next value of an open repetition 'a/n' as a + k * n even beyond the end of
    the field, and normalizes the date: 'a/n' skips runs where the steps do not divide the field
    (systemd 252: '*:00/45' skips 00:00 after 23:45, '00/5:00' skips midnight; systemd issues
    #22665 and #40260 for days of month). So 'a/n' is written only where n divides the minutes of
    an hour, the hours of a day or the months of a year, and an explicit list otherwise.
    """
    values = list(range(start, spec.high + 1, step))
    if len(values) == 1:
        return values, "%02d" % start
    if step == 1:
        return values, "%02d..%02d" % (start, spec.high)
    if spec.open_steps and (spec.high - spec.low + 1) % step == 0:
        return values, "%02d/%d" % (start, step)
    return values, ",".join("%02d" % value for value in values)


def _item(item, spec):
    """Parse one element of a cron list; return (set of values, OnCalendar text, is bare '*')."""
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.match(step_text):
            raise _BadField("the step %r of %r is not a number" % (step_text, item))
        step = int(step_text)
        if step == 0:
            raise _BadField("the step of %r is zero" % item)
    if base == "*":
        if step == 1:
            return set(range(spec.low, spec.high + 1)), "*", True
        values, text = _steps(spec.low, step, spec)
        return set(values), text, False
    if "-" in base:
        first, _sep, last = base.partition("-")
        low, high = _value(first, spec), _value(last, spec)
        if low > high:
            raise _BadField("the range %r runs backwards" % base)
        values = list(range(low, high + 1, step))
        if step != 1:
            text = ",".join("%02d" % value for value in values)
        elif low == high:
            text = "%02d" % low
        else:
            text = "%02d..%02d" % (low, high)
        return set(values), text, False
    low = _value(base, spec)
    if not slash:
        return {low}, "%02d" % low, False
    # 'a/n' is 'a-<last>/n', as in cronie (not every cron accepts it).
    values, text = _steps(low, step, spec)
    return set(values), text, False


def _field(text, spec):
    """Parse one cron field; return (set of values, OnCalendar text)."""
    values = set()
    parts = []
    star = False
    for item in text.split(","):
        if item == "":
            raise _BadField("a list element is empty")
        item_values, item_text, item_star = _item(item, spec)
        values |= item_values
        star = star or item_star
        parts.append(item_text)
    return values, "*" if star else ",".join(parts)


def _weekdays(days):
    """Name a set of cron day numbers (0 to 6) the way systemd normalizes weekdays: Mon first, runs as 'a..b'."""
    order = [day % 7 for day in range(1, 8)]  # Mon .. Sun
    present = [day in days for day in order]
    parts = []
    index = 0
    while index < 7:
        if not present[index]:
            index += 1
            continue
        end = index
        while end + 1 < 7 and present[end + 1]:
            end += 1
        names = [_SYSTEMD_DAYS[order[i]] for i in range(index, end + 1)]
        parts.append("%s..%s" % (names[0], names[-1]) if len(names) > 2 else ",".join(names))
        index = end + 1
    return ",".join(parts)


def _fail(message):
    # Ansible names the plugin already: "The filter plugin 'mlops.mlflow.oncalendar' failed: <message>".
    raise AnsibleFilterError(message)


def _from_cron(expression, fields):
    parsed = []
    for text, spec in zip(fields, _FIELDS):
        try:
            parsed.append(_field(text, spec))
        except _BadField as exc:
            _fail("invalid %s field %r in the cron expression %r: %s" % (spec.label, text, expression, exc))
    minute, hour, month = parsed[0][1], parsed[1][1], parsed[3][1]
    dom_values, dom = parsed[2]
    dow_values = parsed[4][0]
    days = {day % 7 for day in dow_values}
    weekdays = "" if len(days) == 7 else _weekdays(days)
    # cron: when both day fields are restricted (neither starts with '*'), a day matching EITHER runs the job.
    if not fields[2].startswith("*") and not fields[4].startswith("*"):
        if len(days) == 7 or dom_values == set(range(1, 32)):
            weekdays, dom = "", "*"
        else:
            _fail("the cron expression %r restricts both the day of month (%r) and the day of "
                  "week (%r), and cron then runs it on days matching EITHER field; one OnCalendar expression "
                  "cannot express that: give OnCalendar expressions instead (a timer may list several, here %r "
                  "and %r), or make one of the two fields '*'"
                  % (expression, fields[2], fields[4], "*-%s-%s %s:%s:00" % (month, dom, hour, minute),
                     "%s *-%s-* %s:%s:00" % (weekdays, month, hour, minute)))
    prefix = weekdays + " " if weekdays else ""
    return "%s*-%s-%s %s:%s:00" % (prefix, month, dom, hour, minute)


def oncalendar(schedule):
    """Return a systemd OnCalendar expression for a cron expression or an OnCalendar expression."""
    if not isinstance(schedule, str):
        _fail("the schedule must be a string, not %s" % type(schedule).__name__)
    fields = schedule.split()
    if not fields:
        _fail("the schedule is empty")
    if fields[0].startswith("@") and not _NUMBER.match(fields[0][1:]):  # '@<seconds>' is OnCalendar's
        shortcut = fields[0].lower()
        if len(fields) == 1 and shortcut in _SHORTCUTS:
            return _SHORTCUTS[shortcut]
        if shortcut == "@reboot":
            _fail("the cron shortcut %r has no OnCalendar equivalent: use OnBootSec= in the timer" % schedule)
        _fail("%r is not one of the cron shortcuts %s" % (schedule, ", ".join(sorted(_SHORTCUTS))))
    if len(fields) == 5 and all(_LOOSE_CHARS.match(field) for field in fields):
        return _from_cron(schedule, fields)
    if (len(fields) >= 3 and all(_is_cron_field(field) for field in fields)) or \
            (len(fields) >= 4 and all(_LOOSE_CHARS.match(field) for field in fields)):
        _fail("%r looks like a cron expression but has %d fields, not the 5 fields "
              "'minute hour day-of-month month day-of-week'" % (schedule, len(fields)))
    return schedule


class FilterModule(object):
    """mlops.mlflow.oncalendar"""

    def filters(self):
        return {"oncalendar": oncalendar}
