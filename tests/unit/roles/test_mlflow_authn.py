# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nginx role's credential checker (files/mlflow-authn.py): its decisions, its cache, and its HTTP
answers over a real Unix socket."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import bcrypt
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles/nginx/files/mlflow-authn.py"
TOKEN = "service-token-0123456789abcdef0123456789abcdef"


def _load():
    spec = importlib.util.spec_from_file_location("mlflow_authn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


authn = _load()


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(name="files")
def _files(tmp_path):
    users = tmp_path / "users.htpasswd"
    # Cost 4: the cheapest bcrypt, the same check as cost 12.
    digest = bcrypt.hashpw(b"alice-password-123", bcrypt.gensalt(4)).decode()
    users.write_text(f"alice:{digest.replace('$2b$', '$2y$')}\nbob:$apr1$salt$notbcrypt\n")
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# comment\n{hashlib.sha256(TOKEN.encode()).hexdigest()} ci\n")
    return users, tokens


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _checker(files, ttl=300, clock=None):
    users, tokens = files
    return authn.Checker(authn.read_users(users), authn.read_tokens(tokens), ttl, clock=clock or time.monotonic)


def test_files_are_read_as_written(files):
    users = authn.read_users(files[0])
    assert list(users) == ["alice"], "a user with another hash scheme is never accepted"
    assert users["alice"].startswith(b"$2b$")
    assert authn.read_tokens(files[1]) == {hashlib.sha256(TOKEN.encode()).hexdigest(): "ci"}


@pytest.mark.parametrize("header, expected", [
    (_basic("alice", "alice-password-123"), "alice"),
    (f"Bearer {TOKEN}", "ci"),
    (f"bearer  {TOKEN} ", "ci"),
    (_basic("alice", "wrong-password"), None),
    (_basic("mallory", "alice-password-123"), None),
    (_basic("bob", "anything"), None),
    (f"Bearer {TOKEN}x", None),
    ("Bearer ", None),
    ("Basic !!!not-base64", None),
    ("Basic " + base64.b64encode(b"no-colon").decode(), None),
    ("Digest username=alice", None),
    ("", None),
])
def test_decisions(files, header, expected):
    assert asyncio.run(_checker(files).user(header)) == expected


def test_an_accepted_password_is_remembered_until_the_ttl(files, monkeypatch):
    clock = Clock()
    checker = _checker(files, ttl=60, clock=clock)
    calls = []
    real = checker.password_ok
    monkeypatch.setattr(checker, "password_ok", lambda *a: calls.append(a) or real(*a))
    header = _basic("alice", "alice-password-123")

    async def scenario():
        first = await checker.user(header)
        clock.now += 59
        second = await checker.user(header)
        clock.now += 2
        third = await checker.user(header)
        wrong = [await checker.user(_basic("alice", "nope-nope-nope")) for _try in range(2)]
        return first, second, third, wrong

    first, second, third, wrong = asyncio.run(scenario())
    assert (first, second, third) == ("alice", "alice", "alice")
    assert wrong == [None, None]
    # One check at the start, one after the TTL ran out; refusals are never remembered.
    assert len(calls) == 4


def test_ttl_zero_checks_every_time(files, monkeypatch):
    checker = _checker(files, ttl=0)
    calls = []
    real = checker.password_ok
    monkeypatch.setattr(checker, "password_ok", lambda *a: calls.append(a) or real(*a))
    header = _basic("alice", "alice-password-123")

    async def scenario():
        return [await checker.user(header) for _try in range(3)]

    assert asyncio.run(scenario()) == ["alice"] * 3
    assert len(calls) == 3


def test_concurrent_requests_with_one_new_password_hash_once(files, monkeypatch):
    checker = _checker(files)
    calls = []
    real = checker.password_ok
    monkeypatch.setattr(checker, "password_ok", lambda *a: calls.append(a) or real(*a))
    header = _basic("alice", "alice-password-123")

    async def scenario():
        return await asyncio.gather(*(checker.user(header) for _client in range(32)))

    assert asyncio.run(scenario()) == ["alice"] * 32
    assert len(calls) == 1


def test_the_cache_is_bounded(files):
    checker = _checker(files)
    checker.max_entries = 3
    for index in range(5):
        checker._remember(bytes([index]), "alice")
    assert len(checker._accepted) <= 3


def _request(sock, header):
    lines = ["GET /_mlflow_authn HTTP/1.1", "Host: mlflow_authn"] + ([f"Authorization: {header}"] if header else [])
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "the checker closed the connection"
        data += chunk
    return data.decode()


def test_the_service_answers_nginx_over_one_kept_alive_socket(files, tmp_path):
    path = tmp_path / "authn.sock"
    users, tokens = files
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--socket", str(path), "--users", str(users),
                                "--tokens", str(tokens), "--ttl", "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert "1 users, 1 tokens" in process.stdout.readline()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            answers = [_request(sock, header) for header in
                       (_basic("alice", "alice-password-123"), None, f"Bearer {TOKEN}", _basic("alice", "bad-password-0"))]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answers[0].startswith("HTTP/1.1 200 ") and "X-MLflow-User: alice" in answers[0]
    assert answers[1].startswith("HTTP/1.1 401 ") and 'WWW-Authenticate: Basic realm="MLflow"' in answers[1]
    assert answers[2].startswith("HTTP/1.1 200 ") and "X-MLflow-User: ci" in answers[2]
    assert answers[3].startswith("HTTP/1.1 401 ")
