"""The host side of molecule/_shared/security_check.py: probes that run on a test host.

Standard library only (the hosts' own python3). One subcommand per probe; its input is one JSON
document (base64 on the command line: no secret ever travels that way), its output one JSON line.

  http SPEC     requests without credentials to the host's own ports: status and headers
  tls SPEC      handshakes per protocol version (and with weak TLS 1.2 ciphers only)
  files SPEC    which files hold a secret: SPEC names a root-only file of needles written by the caller
  connect SPEC  which TCP ports of an address accept a connection (from this host to another)
"""

import base64
import http.client
import json
import os
import re
import socket
import ssl
import stat
import sys
import warnings

# TLS 1.0 and 1.1 are deprecated in the ssl module: they are offered on purpose here.
warnings.simplefilter("ignore", DeprecationWarning)

# Headers the caller may assert; every response reports these (lower case).
REPORTED_HEADERS = ("strict-transport-security", "x-content-type-options", "referrer-policy", "location",
                    "www-authenticate", "server", "x-frame-options", "content-security-policy")


def _context(maximum=None, minimum=None, ciphers=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # SECLEVEL=0: the client must really offer TLS 1.0/1.1 (OpenSSL 3 refuses to by default), so that
    # a refusal is the server's.
    context.set_ciphers(ciphers or "DEFAULT:@SECLEVEL=0")
    if minimum is not None:
        context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    return context


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address, with the public name as SNI (http.client sends the address)."""

    def __init__(self, address, port, server_name, **kwargs):
        super().__init__(address, port, **kwargs)
        self.server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)  # pylint: disable=no-member


def probe_http(spec):
    """Each request of spec["requests"]: {port, path, method, tls, host, body}; no credentials are sent."""
    answers = []
    for request in spec["requests"]:
        host = request.get("host", "localhost")
        try:
            if request.get("tls", True):
                connection = _Connection(request.get("address", "127.0.0.1"), request["port"], host.split(":")[0], timeout=30,
                                         context=_context())
            else:
                connection = http.client.HTTPConnection(request.get("address", "127.0.0.1"), request["port"], timeout=30)
            body = request.get("body")
            headers = {"Host": host, **request.get("headers", {})}
            if body is not None:
                body = body.encode()
                headers.setdefault("Content-Type", "application/json")
            connection.request(request.get("method", "GET"), request["path"], body=body, headers=headers)
            response = connection.getresponse()
            answer = {"status": response.status, "headers": {name: response.getheader(name) for name in REPORTED_HEADERS
                                                             if response.getheader(name) is not None},
                      # The start of the body, to tell MLflow's pages from nginx's (never a secret: no credentials sent).
                      "body": response.read(300).decode("utf-8", "replace")}
            connection.close()
        except (OSError, http.client.HTTPException) as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.append({**request, **answer})
    return answers


def _handshake(address, port, server_name, context):
    try:
        with socket.create_connection((address, port), timeout=15) as raw:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                return {"accepted": True, "version": tls.version(), "cipher": tls.cipher()[0]}
    except ssl.SSLError as error:
        return {"accepted": False, "reason": error.reason or str(error)}
    except OSError as error:
        return {"accepted": False, "reason": f"{type(error).__name__}: {error}"}


def probe_tls(spec):
    """Per port: a handshake with each protocol version alone, and TLS 1.2 with weak ciphers only."""
    versions = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
                "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
    results = {}
    for port in spec["ports"]:
        result = {name: _handshake(spec.get("address", "127.0.0.1"), port, spec["server_name"], _context(version, version))
                  for name, version in versions.items()}
        # Without forward secrecy (RSA key exchange) or without AEAD (CBC): none of these may be chosen.
        weak = "AES128-SHA:AES256-SHA:AES128-SHA256:AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA" \
               ":ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"
        result["TLSv1.2-weak-ciphers"] = _handshake(spec.get("address", "127.0.0.1"), port, spec["server_name"],
                                                    _context(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, weak))
        results[str(port)] = result
    return results


def _walk(top, device):
    """Regular files under top, on top's file system (find -xdev), without following symbolic links."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_dev == device:
            yield from _walk(entry.path, device)
        elif stat.S_ISREG(info.st_mode):
            yield entry.path, info


# A PEM private key with its key material (parsers that only name the marker do not match).
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n(?:[A-Za-z0-9+/=]{40,}\r?\n){2,}")


def probe_files(spec):
    """Which files hold a needle.

    spec: {"needles": path of a root-only file, base64 of JSON {name: {"value": ..., "scope": "world-readable" | "anywhere"}},
    "dirs": [...], "log_dirs": [...], "max_bytes": N}. A needle of scope world-readable counts in world-readable files
    (mode o+r, as find -perm -o+r) and in every file under log_dirs (logs are read by the adm group and shipped
    elsewhere); one of scope anywhere counts in every file. Returns the hits by path (needle names only, never
    values), the world-readable files that hold private key material, the files too large to read, and how many
    files were read.
    """
    with open(spec["needles"], "rb") as handle:
        needles = {name: (needle["value"].encode(), needle["scope"])
                   for name, needle in json.loads(base64.b64decode(handle.read())).items()}
    skip = os.path.realpath(spec["needles"])
    log_dirs = [log_dir.rstrip("/") + "/" for log_dir in spec.get("log_dirs", [])]
    hits, keys, large, read, seen = {}, [], [], 0, set()
    for top in spec["dirs"] + spec.get("log_dirs", []):
        try:
            device = os.lstat(top).st_dev
        except OSError:
            continue
        for path, info in _walk(top, device):
            if (info.st_dev, info.st_ino) in seen or os.path.realpath(path) == skip:
                continue
            seen.add((info.st_dev, info.st_ino))
            world = bool(info.st_mode & stat.S_IROTH)
            in_logs = path.startswith(tuple(log_dirs))
            wanted = [name for name, (_value, scope) in needles.items() if scope == "anywhere" or world or in_logs]
            if not wanted and not world:
                continue
            if info.st_size > spec.get("max_bytes", 256 << 20):
                large.append(path)
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            read += 1
            found = [name for name in wanted if needles[name][0] in data]
            if found:
                hits[path] = found
            if world and b"PRIVATE KEY-----" in data and PRIVATE_KEY.search(data):
                keys.append(path)
    return {"hits": hits, "private_keys": sorted(keys), "too_large": sorted(large), "files_read": read}


def probe_connect(spec):
    """Per port of spec["ports"]: open, refused or a timeout, connecting to spec["address"]."""
    results = {}
    for port in spec["ports"]:
        try:
            with socket.create_connection((spec["address"], port), timeout=5):
                results[str(port)] = "open"
        except ConnectionRefusedError:
            results[str(port)] = "refused"
        except OSError as error:
            results[str(port)] = f"{type(error).__name__}: {error}"
    return results


def main():
    command, spec = sys.argv[1], json.loads(base64.b64decode(sys.argv[2]))
    probes = {"http": probe_http, "tls": probe_tls, "files": probe_files, "connect": probe_connect}
    print(json.dumps(probes[command](spec)))


if __name__ == "__main__":
    main()
