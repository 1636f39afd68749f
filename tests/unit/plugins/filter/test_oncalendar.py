# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The oncalendar filter: cron to OnCalendar, checked against the real systemd-analyze where it exists.

The collection is importable through tests/unit/plugins/conftest.py.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mlops.mlflow.plugins.filter.oncalendar import FilterModule, oncalendar

# (cron expression, expected OnCalendar expression)
CRON = [
    ("30 2 * * 0", "Sun *-*-* 02:30:00"),
    ("30 2 * * 7", "Sun *-*-* 02:30:00"),
    ("30 2 * * SUN", "Sun *-*-* 02:30:00"),
    ("0 */6 * * *", "*-*-* 00/6:00:00"),
    ("*/15 * * * *", "*-*-* *:00/15:00"),
    ("* * * * *", "*-*-* *:*:00"),
    ("0 * * * *", "*-*-* *:00:00"),
    ("0 0 * * *", "*-*-* 00:00:00"),
    ("5 4 * * *", "*-*-* 04:05:00"),
    ("00 05 * * *", "*-*-* 05:00:00"),
    ("  0   3  *  *  *  ", "*-*-* 03:00:00"),
    ("0\t3\t*\t*\t*", "*-*-* 03:00:00"),
    ("0 22 * * 1-5", "Mon..Fri *-*-* 22:00:00"),
    ("0 22 * * MON-FRI", "Mon..Fri *-*-* 22:00:00"),
    ("0 22 * * mon-Fri", "Mon..Fri *-*-* 22:00:00"),
    ("0 8 * * 1,3,5", "Mon,Wed,Fri *-*-* 08:00:00"),
    ("0 8 * * MON,WED,FRI", "Mon,Wed,Fri *-*-* 08:00:00"),
    ("0 8 * * 6,0", "Sat,Sun *-*-* 08:00:00"),
    ("0 8 * * 5-7", "Fri..Sun *-*-* 08:00:00"),
    ("0 8 * * 0-3", "Mon..Wed,Sun *-*-* 08:00:00"),
    ("0 8 * * 0-7", "*-*-* 08:00:00"),
    ("0 8 * * 0,7", "Sun *-*-* 08:00:00"),
    ("0 0 * * */2", "Tue,Thu,Sat,Sun *-*-* 00:00:00"),
    ("0 12 * * 1-5/2", "Mon,Wed,Fri *-*-* 12:00:00"),
    ("0 0 1 * *", "*-*-01 00:00:00"),
    ("0 0 1,15 * *", "*-*-01,15 00:00:00"),
    ("0 0 1-7 * *", "*-*-01..07 00:00:00"),
    ("0 0 5-5 * *", "*-*-05 00:00:00"),
    ("0 0 */2 * *", "*-*-01,03,05,07,09,11,13,15,17,19,21,23,25,27,29,31 00:00:00"),
    ("0 23 */11 * *", "*-*-01,12,23 23:00:00"),  # not *-*-1/11, which skips 1 January (systemd #40260)
    ("0 0 10/10 * *", "*-*-10,20,30 00:00:00"),
    ("0 0 5/1 * *", "*-*-05..31 00:00:00"),
    ("0 0 */31 * *", "*-*-01 00:00:00"),
    ("0 0 1 */3 *", "*-01/3-01 00:00:00"),
    ("0 0 1 */5 *", "*-01,06,11-01 00:00:00"),
    ("0 0 1 2/2 *", "*-02/2-01 00:00:00"),
    ("15 4 1 JAN,JUL *", "*-01,07-01 04:15:00"),
    ("0 0 1 jan-mar *", "*-01..03-01 00:00:00"),
    ("0 0 1 1 *", "*-01-01 00:00:00"),
    ("0 0 * 12 5", "Fri *-12-* 00:00:00"),
    ("0 0 29 2 *", "*-02-29 00:00:00"),
    ("0 9-17/2 * * *", "*-*-* 09,11,13,15,17:00:00"),
    ("0-30/10 * * * *", "*-*-* *:00,10,20,30:00"),
    ("5/20 * * * *", "*-*-* *:05/20:00"),
    ("50/20 * * * *", "*-*-* *:50:00"),
    ("*/45 * * * *", "*-*-* *:00,45:00"),  # not *:00/45, which skips midnight after 23:45
    ("*/7 * * * *", "*-*-* *:00,07,14,21,28,35,42,49,56:00"),
    ("*/20 * * * *", "*-*-* *:00/20:00"),
    ("0 */5 * * *", "*-*-* 00,05,10,15,20:00:00"),
    ("0 */8 * * *", "*-*-* 00/8:00:00"),
    ("0 3/4 * * *", "*-*-* 03/4:00:00"),
    ("0 7/5 * * *", "*-*-* 07,12,17,22:00:00"),
    ("*/60 * * * *", "*-*-* *:00:00"),
    ("0 */24 * * *", "*-*-* 00:00:00"),
    ("*/1 */1 */1 */1 */1", "*-*-* *:*:00"),
    ("0-59/1 * * * *", "*-*-* *:00..59:00"),
    ("1,2,3 0 * * *", "*-*-* 00:01,02,03:00"),
    ("*,5 * * * *", "*-*-* *:*:00"),
    ("0 9-17 * * 1-5", "Mon..Fri *-*-* 09..17:00:00"),
    ("30 8,12,18 * * 1-5", "Mon..Fri *-*-* 08,12,18:30:00"),
    # Day of month and day of week: a field starting with '*' makes cron match both (AND) ...
    ("0 0 */2 * 1", "Mon *-*-01,03,05,07,09,11,13,15,17,19,21,23,25,27,29,31 00:00:00"),
    ("0 0 1 * */2", "Tue,Thu,Sat,Sun *-*-01 00:00:00"),
    ("0 0 */10 * */2", "Tue,Thu,Sat,Sun *-*-01,11,21,31 00:00:00"),
    ("0 0 13 * */1", "*-*-13 00:00:00"),
    # ... otherwise either (OR), which is every day when one of them is every day.
    ("0 0 1-31 * 1", "*-*-* 00:00:00"),
    ("0 0 1 * 0-6", "*-*-* 00:00:00"),
    ("0 0 1 * SUN-SAT", "*-*-* 00:00:00"),
]

SHORTCUTS = [
    ("@hourly", "hourly", "0 * * * *"),
    ("@daily", "daily", "0 0 * * *"),
    ("@midnight", "daily", "0 0 * * *"),
    ("@weekly", "weekly", None),  # systemd's weekly is Monday, cron's Sunday: see test_weekly_is_monday
    ("@monthly", "monthly", "0 0 1 * *"),
    ("@yearly", "yearly", "0 0 1 1 *"),
    ("@annually", "yearly", "0 0 1 1 *"),
    ("@DAILY", "daily", "0 0 * * *"),
]

ONCALENDAR = [
    "weekly",
    "daily",
    "hourly",
    "minutely",
    "monthly",
    "quarterly",
    "Sun *-*-* 03:00:00",
    "*-*-* 02:30:00",
    "Mon..Fri 22:00",
    "Sat *-*-1..7 18:00:00",
    "*:0/15",
    "*-*-* 03:00 UTC",
    "Mon",
    "Mon,Fri *-*-*",
    "2025-01-01",
    "Mon 2025-01-01",
    "@1700000000",
    " daily ",
]

# (value, words the message must hold)
ERRORS = [
    ("0 0 1 * MON", ["EITHER", "'*-*-01 00:00:00'", "'Mon *-*-* 00:00:00'", "OnCalendar"]),
    ("0 0 1-15 * 1-5", ["EITHER", "'*-*-01..15 00:00:00'", "'Mon..Fri *-*-* 00:00:00'"]),
    ("30 4 1,15 * 5", ["EITHER", "day of month", "day of week"]),
    ("60 * * * *", ["minute field '60'", "out of range 0-59"]),
    ("0 24 * * *", ["hour field '24'", "out of range 0-23"]),
    ("0 0 0 * *", ["day-of-month field '0'", "out of range 1-31"]),
    ("0 0 32 * *", ["day-of-month field '32'"]),
    ("0 0 * 13 *", ["month field '13'", "out of range 1-12"]),
    ("0 0 * 0 *", ["month field '0'"]),
    ("0 0 * * 8", ["day-of-week field '8'", "out of range 0-7"]),
    ("0 0 * * MONDAY", ["day-of-week field 'MONDAY'", "SUN, MON"]),
    ("0 0 * * JAN", ["day-of-week field 'JAN'"]),
    ("0 0 * FOO *", ["month field 'FOO'", "JAN, FEB"]),
    ("0 0 * JAN-MON *", ["month field 'JAN-MON'"]),
    ("0 0 MON * *", ["day-of-month field 'MON'", "not a number"]),
    ("0 MON * * *", ["hour field 'MON'"]),
    ("0 0 * * SAT-SUN", ["day-of-week field 'SAT-SUN'", "backwards"]),
    ("0 5-1 * * *", ["hour field '5-1'", "backwards"]),
    ("*/0 * * * *", ["minute field '*/0'", "zero"]),
    ("*/x * * * *", ["minute field '*/x'", "step"]),
    ("*/ * * * *", ["minute field '*/'", "step"]),
    ("1/2/3 * * * *", ["minute field '1/2/3'"]),
    ("1-2-3 * * * *", ["minute field '1-2-3'"]),
    ("1- * * * *", ["minute field '1-'", "missing"]),
    ("1,,2 * * * *", ["minute field '1,,2'", "empty"]),
    ("0,70 * * * *", ["minute field '0,70'", "70"]),
    ("0 0 L * *", ["day-of-month field 'L'"]),
    ("0 0 15W * *", ["day-of-month field '15W'"]),
    ("0 0 ? * *", ["day-of-month field '?'"]),
    ("0 0 * * 1#2", ["day-of-week field '1#2'"]),
    ("0 0 * * 5L", ["day-of-week field '5L'"]),
    ("0 0 * *", ["4 fields", "minute hour day-of-month month day-of-week"]),
    ("0 0 *", ["3 fields"]),
    ("0 0 * * * *", ["6 fields"]),
    ("0 0 12 ? * MON", ["6 fields"]),
    ("0 0 12 * * MON 2025", ["7 fields"]),
    ("@reboot", ["'@reboot'", "OnBootSec"]),
    ("@fortnightly", ["'@fortnightly'", "@annually", "@weekly"]),
    ("@daily 03:00", ["not one of the cron shortcuts"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
    (5, ["string", "int"]),
    (None, ["string", "NoneType"]),
]

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
# Every expression runs at second 0, so a base time at second 59 or 1 is never a run itself. The bases cross
# the ends of a day, a year, February (common and leap), a month of 30 days and the year after 23 December.
BASES = [
    datetime.datetime(2024, 12, 31, 23, 59, 59),
    datetime.datetime(2025, 2, 28, 23, 30, 1),
    datetime.datetime(2028, 2, 28, 23, 30, 1),
    datetime.datetime(2025, 4, 30, 22, 59, 59),
    datetime.datetime(2025, 12, 23, 23, 0, 1),
    datetime.datetime(2025, 6, 15, 7, 7, 7),
]
BASE = BASES[0]
ITERATIONS = 40
_ELAPSE = re.compile(r"^\s*(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.M)


def _systemd_analyze(*args):
    return subprocess.run([SYSTEMD_ANALYZE, "calendar"] + list(args), capture_output=True, text=True, check=False,
                          env=dict(os.environ, TZ="UTC", LC_ALL="C", SYSTEMD_COLORS="0"))


@pytest.fixture(scope="module")
def systemd_analyze():
    """systemd-analyze, or a skip of the check that needs it."""
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed here: the expressions are not checked by systemd")
    return _systemd_analyze


@pytest.fixture(scope="module")
def systemd_elapses(systemd_analyze):
    """elapses(expression, base) -> the first ITERATIONS times systemd runs the expression after base, in UTC."""
    probe = systemd_analyze("--iterations=2", "--base-time=2025-01-01 00:00:00 UTC", "daily")
    if probe.returncode != 0:
        pytest.skip("this systemd-analyze has no --base-time (systemd < 249): %s" % probe.stderr.strip())

    def elapses(expression, base=BASE):
        result = systemd_analyze("--iterations=%d" % ITERATIONS, "--base-time=%s UTC" % base, expression)
        assert result.returncode == 0, result.stderr
        return [datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S") for text in _ELAPSE.findall(result.stdout)]
    return elapses


# -- an independent, minimal cron, to compare what systemd makes of the output with what cron would do ----------

_NAMES = dict((name, number) for number, name in enumerate("sun mon tue wed thu fri sat".split()))
_NAMES.update((name, number + 1) for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split()))


def _cron_values(field, low, high):
    values = set()
    for item in field.split(","):
        span, slash, step = item.partition("/")
        step = int(step) if slash else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = [int(x) if x.isdigit() else _NAMES[x.lower()] for x in span.split("-")]
        else:
            first = int(span) if span.isdigit() else _NAMES[span.lower()]
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


def cron_runs(cron, count=ITERATIONS, after=BASE):
    """The first `count` times cron (Vixie/cronie rules) runs `cron` after `after`."""
    minute, hour, dom, month, dow = cron.split()
    minutes, hours = sorted(_cron_values(minute, 0, 59)), sorted(_cron_values(hour, 0, 23))
    doms, months = _cron_values(dom, 1, 31), _cron_values(month, 1, 12)
    dows = set(day % 7 for day in _cron_values(dow, 0, 7))
    either = not dom.startswith("*") and not dow.startswith("*")
    runs = []
    day = after.date()
    while len(runs) < count and day.year < 2200:
        in_dom, in_dow = day.day in doms, day.isoweekday() % 7 in dows
        if day.month in months and ((in_dom or in_dow) if either else (in_dom and in_dow)):
            for h in hours:
                for m in minutes:
                    when = datetime.datetime(day.year, day.month, day.day, h, m)
                    if when > after and len(runs) < count:
                        runs.append(when)
        day += datetime.timedelta(days=1)
    return runs


def test_the_oracle_itself():
    assert cron_runs("30 2 * * 0", 2) == [datetime.datetime(2025, 1, 5, 2, 30), datetime.datetime(2025, 1, 12, 2, 30)]
    assert cron_runs("0 0 1 * 1", 3) == [datetime.datetime(2025, 1, 1), datetime.datetime(2025, 1, 6),
                                         datetime.datetime(2025, 1, 13)]
    assert cron_runs("0 0 30 2 *") == []


# -- the filter ------------------------------------------------------------------------------------------------


def test_filter_is_registered():
    assert FilterModule().filters() == {"oncalendar": oncalendar}


@pytest.mark.parametrize("cron, expected", CRON)
def test_cron_to_oncalendar(cron, expected):
    assert oncalendar(cron) == expected


@pytest.mark.parametrize("shortcut, expected, dummy", SHORTCUTS)
def test_cron_shortcuts(shortcut, expected, dummy):
    assert oncalendar(shortcut) == expected


@pytest.mark.parametrize("expression", ONCALENDAR)
def test_oncalendar_is_returned_unchanged(expression):
    assert oncalendar(expression) is expression


@pytest.mark.parametrize("value, words", ERRORS)
def test_errors(value, words):
    with pytest.raises(AnsibleFilterError) as caught:
        oncalendar(value)
    message = str(caught.value)
    for word in words:
        assert word in message


def test_error_names_the_first_bad_field_only():
    with pytest.raises(AnsibleFilterError) as caught:
        oncalendar("0 25 * 13 *")
    message = str(caught.value)
    assert "hour field '25'" in message
    assert "month field" not in message


# -- the same, checked by systemd ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [cron for cron, dummy in CRON] + [s for s, e, c in SHORTCUTS] + ONCALENDAR)
def test_systemd_accepts_the_result(value, systemd_analyze):
    result = systemd_analyze(oncalendar(value).strip())
    assert result.returncode == 0, result.stderr
    assert "Normalized form:" in result.stdout


@pytest.mark.parametrize("base", BASES, ids=str)
@pytest.mark.parametrize("cron", [cron for cron, dummy in CRON])
def test_systemd_runs_the_result_when_cron_would(cron, base, systemd_elapses):
    expected = cron_runs(cron, after=base)
    assert len(expected) == ITERATIONS
    assert systemd_elapses(oncalendar(cron), base) == expected


@pytest.mark.parametrize("shortcut, dummy, cron", [case for case in SHORTCUTS if case[2]])
def test_systemd_runs_the_shortcuts_when_cron_would(shortcut, dummy, cron, systemd_elapses):
    assert systemd_elapses(oncalendar(shortcut)) == cron_runs(cron)


@pytest.mark.parametrize("open_repetition, cron", [
    ("*-*-* *:00/45:00", "*/45 * * * *"),
    ("*-*-* 00/5:00:00", "0 */5 * * *"),
    ("*-*-01/11 23:00:00", "0 23 */11 * *"),
])
def test_why_some_steps_are_lists(open_repetition, cron, systemd_elapses):
    """Where systemd's own 'a/n' skips runs, the filter writes a list that does not."""
    skipped = [systemd_elapses(open_repetition, base) != cron_runs(cron, after=base) for base in BASES]
    if not any(skipped):
        pytest.skip("this systemd runs %r like cron: the list is only needed where it does not" % open_repetition)
    assert all(systemd_elapses(oncalendar(cron), base) == cron_runs(cron, after=base) for base in BASES)


def test_weekly_is_monday(systemd_elapses):
    """Documented difference: systemd's weekly runs on Mondays, cron's @weekly on Sundays."""
    runs = systemd_elapses(oncalendar("@weekly"))
    assert runs == cron_runs("0 0 * * 1")
    assert runs != cron_runs("0 0 * * 0")


def test_a_cron_date_that_never_comes(systemd_elapses):
    """Like cron, the filter takes 30 February; systemd accepts it and never runs it."""
    expression = oncalendar("0 0 30 2 *")
    assert expression == "*-02-30 00:00:00"
    assert systemd_elapses(expression) == []
    assert cron_runs("0 0 30 2 *") == []
