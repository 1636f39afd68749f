"""Credential checker behind nginx's auth_request, for mlflow_auth_mode nginx.

nginx sends each request's Authorization header here over a Unix socket (keep-alive) and lets the
request through on 200. Passwords are checked against bcrypt hashes (htpasswd file) and bearer
tokens against SHA-256 digests (tokens file); neither file holds a usable credential. A bcrypt check
costs about 130 ms of CPU, so an accepted header is remembered, in memory only and under a key that
lives as long as the process (an HMAC of the header), for --ttl seconds. Changing either file
restarts the service (socket activation keeps the socket, so nginx never sees it gone), which
forgets everything at once.

Standard library and Debian's python3-bcrypt only.
"""

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import secrets
import signal
import socket
import sys
import time

import bcrypt

# A header larger than this is refused, before any hashing.
MAX_HEADER = 8192
UNAUTHORIZED = (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"MLflow\"\r\n"
                b"Content-Length: 0\r\n\r\n")


def read_users(path):
    """htpasswd lines "name:bcrypt-hash"; other schemes are ignored (never accepted)."""
    users = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            name, _sep, digest = line.strip().partition(":")
            if name and digest.startswith(("$2a$", "$2b$", "$2y$")):
                # passlib may write the 2y prefix; the bcrypt module knows it as 2b.
                users[name] = ("$2b$" + digest[4:]).encode()
    return users


def read_tokens(path):
    """Lines "<sha256 hex of the token> <name>"; '#' starts a comment."""
    tokens = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split("#", 1)[0].split()
            if len(fields) == 2 and len(fields[0]) == 64:
                tokens[fields[0].lower()] = fields[1]
    return tokens


class Checker:
    """Decides on one Authorization header; remembers what it accepted."""

    def __init__(self, users, tokens, ttl, max_entries=10000, clock=time.monotonic):
        self.users = users
        self.tokens = tokens
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._accepted = {}
        self._pending = {}
        # At most two bcrypt checks at a time: a flood of wrong passwords cannot take every core.
        self._hashing = asyncio.Semaphore(2)

    def _remembered(self, key):
        entry = self._accepted.get(key)
        if entry and entry[0] > self.clock():
            return entry[1]
        return None

    def _remember(self, key, name):
        if self.ttl <= 0:
            return
        if len(self._accepted) >= self.max_entries:
            self._accepted.clear()
        self._accepted[key] = (self.clock() + self.ttl, name)

    def token_user(self, token):
        return self.tokens.get(hashlib.sha256(token.encode()).hexdigest())

    @staticmethod
    def basic_credentials(value):
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        return (name, password) if sep and name else None

    def password_ok(self, name, password):
        digest = self.users.get(name)
        return digest is not None and bcrypt.checkpw(password.encode("utf-8"), digest)

    async def user(self, header):
        """The user (or token name) the header proves, else None."""
        scheme, _sep, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return self.token_user(value)
        if scheme.lower() != "basic" or not value:
            return None
        key = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        name = self._remembered(key)
        if name is not None:
            return name
        # Clients start many threads with the same credentials at once: check them once.
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._check(key, value))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _check(self, key, value):
        credentials = self.basic_credentials(value)
        if credentials is None:
            return None
        async with self._hashing:
            ok = await asyncio.get_running_loop().run_in_executor(None, self.password_ok, *credentials)
        if not ok:
            return None
        self._remember(key, credentials[0])
        return credentials[0]


def _answer(name):
    if name is None:
        return UNAUTHORIZED
    # The name is ours (htpasswd or tokens file), but keep it a safe header value.
    safe = "".join(c for c in name if c.isalnum() or c in "._@-")[:64]
    return f"HTTP/1.1 200 OK\r\nX-MLflow-User: {safe}\r\nContent-Length: 0\r\n\r\n".encode()


async def serve_connection(checker, reader, writer):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                writer.write(UNAUTHORIZED)
                break
            except asyncio.IncompleteReadError:
                break
            authorization = ""
            length = 0
            for line in head.decode("latin-1").split("\r\n")[1:]:
                field, _sep, value = line.partition(":")
                field = field.strip().lower()
                if field == "authorization":
                    authorization = value
                elif field == "content-length" and value.strip().isdigit():
                    length = int(value)
            if length:
                await reader.readexactly(length)
            writer.write(_answer(await checker.user(authorization)))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _listening_socket(path):
    """The socket systemd passes (socket activation), else one bound at path (tests, by hand)."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS") == "1":
        return socket.socket(fileno=3)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(128)
    return sock


async def main(args):
    checker = Checker(read_users(args.users), read_tokens(args.tokens), args.ttl)
    server = await asyncio.start_unix_server(lambda r, w: serve_connection(checker, r, w),
                                             sock=_listening_socket(args.socket), limit=MAX_HEADER)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"mlflow-authn: {len(checker.users)} users, {len(checker.tokens)} tokens, cache {args.ttl} s", flush=True)
    await stop.wait()
    # Stop accepting: systemd holds the socket, and the next process takes the connections that
    # wait there. Answers in flight go out; nginx retries a subrequest (a GET) that finds its kept
    # connection closed.
    server.close()
    await asyncio.sleep(0.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/run/mlflow-authn.sock")
    parser.add_argument("--users", required=True, help="htpasswd file (bcrypt)")
    parser.add_argument("--tokens", required=True, help="file of SHA-256 token digests")
    parser.add_argument("--ttl", type=int, default=300, help="seconds an accepted password is remembered")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
