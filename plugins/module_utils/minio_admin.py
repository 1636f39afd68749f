# -*- coding: utf-8 -*-
# Copyright (c) mlops.mlflow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MinIO admin logic shared by the minio_bucket and minio_ready modules.

Runs on the MinIO host with the Python of the role's admin venv (the minio client package). The root
credentials and the endpoint come from the server's environment file (MINIO_ROOT_USER,
MINIO_ROOT_PASSWORD, --address and --certs-dir in MINIO_OPTS). The endpoint speaks TLS when the
certificate directory holds public.crt, as the server does; the certificate is checked against
public.crt and CAs/ for the name given as tls_server_name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shlex
import ssl
import tempfile
import time
import traceback

from ansible_collections.mlops.mlflow.plugins.module_utils.env_file import read_env_file

try:
    import urllib3
except ImportError:
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None

try:
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException, S3Error
except ImportError:
    HAS_MINIO = False
    MINIO_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_MINIO = True
    MINIO_IMPORT_ERROR = None

__all__ = ["read_env_file"]

# Errors that mean "these credentials are wrong", as opposed to "not allowed" or "no such bucket".
BAD_CREDENTIALS = frozenset(["SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId"])
TOKEN_YEARS = 10
# A token closer than this to its expiry is replaced.
TOKEN_MARGIN = 30 * 24 * 3600


class MinioAdminError(Exception):
    """A condition the module reports as its failure message."""


def _option(opts, name, default):
    for index, opt in enumerate(opts):
        if opt == name and index + 1 < len(opts):
            return opts[index + 1]
        if opt.startswith(name + "="):
            return opt.split("=", 1)[1]
    return default


def _pool(certs_dir, server_name):
    timeout = urllib3.Timeout(connect=10, read=60)
    retries = urllib3.Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504])
    if certs_dir is None:
        return urllib3.PoolManager(timeout=timeout, retries=retries)
    context = ssl.create_default_context(cafile=os.path.join(certs_dir, "public.crt"))
    # The served certificate itself is a trust anchor here, whoever signed it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    cas = os.path.join(certs_dir, "CAs")
    for name in sorted(os.listdir(cas)) if os.path.isdir(cas) else []:
        if os.path.isfile(os.path.join(cas, name)):
            context.load_verify_locations(cafile=os.path.join(cas, name))
    name = server_name or "localhost"
    return urllib3.PoolManager(timeout=timeout, retries=retries, ssl_context=context,
                               server_hostname=name, assert_hostname=name)


class Server(object):
    """Where and how to reach the local MinIO server, read from its environment file."""

    def __init__(self, env_file, tls_server_name=""):
        env = read_env_file(env_file)
        try:
            self.access_key = env["MINIO_ROOT_USER"]
            self.secret_key = env["MINIO_ROOT_PASSWORD"]
        except KeyError as missing:
            raise MinioAdminError("%s does not set %s" % (env_file, missing))
        opts = shlex.split(env.get("MINIO_OPTS", ""))
        address = _option(opts, "--address", ":9000")
        certs_dir = _option(opts, "--certs-dir", os.path.join(os.path.expanduser("~"), ".minio", "certs"))
        host, _sep, port = address.rpartition(":")
        # A server listening on every address is reached on loopback.
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        self.endpoint = "%s:%s" % (host, port)
        self.secure = os.path.isfile(os.path.join(certs_dir, "public.crt"))
        self.http = _pool(certs_dir, tls_server_name) if self.secure else _pool(None, "")

    def admin(self):
        return MinioAdmin(endpoint=self.endpoint, credentials=StaticProvider(access_key=self.access_key, secret_key=self.secret_key),
                          secure=self.secure, http_client=self.http)

    def client(self, access_key=None, secret_key=None):
        return Minio(endpoint=self.endpoint, access_key=access_key or self.access_key,
                     secret_key=secret_key or self.secret_key, secure=self.secure, http_client=self.http)

    def url(self, path):
        return ("https://" if self.secure else "http://") + self.endpoint + path


def wait_ready(server, timeout, sleep=time.sleep):
    """Seconds until GET /minio/health/ready answered 200; MinioAdminError after timeout seconds."""
    start = time.monotonic()
    last = ""
    while True:
        try:
            response = server.http.request("GET", server.url("/minio/health/ready"), retries=False)
            if response.status == 200:
                return round(time.monotonic() - start, 1)
            last = "HTTP %s" % response.status
        except Exception as error:  # pylint: disable=broad-except  # refused while starting, TLS errors
            last = "%s: %s" % (type(error).__name__, error)
        if time.monotonic() - start > timeout:
            raise MinioAdminError("%s was not ready after %s s: %s" % (server.url("/minio/health/ready"), float(timeout), last))
        sleep(1)


def _admin_code(error):
    """The MinIO error code of a MinioAdminException, such as XMinioAdminNoSuchUser."""
    body = getattr(error, "_body", "") or ""
    try:
        return json.loads(body).get("Code", "")
    except ValueError:
        return ""


def normalized_policy(policy):
    """An IAM policy compared by meaning: statement order and action or resource order do not matter."""
    def as_list(value):
        return sorted(value) if isinstance(value, list) else [value]

    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return sorted(json.dumps({
        "Effect": s.get("Effect"), "Action": as_list(s.get("Action", [])), "NotAction": as_list(s.get("NotAction", [])),
        "Resource": as_list(s.get("Resource", [])), "Condition": s.get("Condition", {}),
    }, sort_keys=True) for s in statements)


def _current_policy(admin, name):
    try:
        return json.loads(admin.policy_info(policy_name=name))
    except MinioAdminException as error:
        if _admin_code(error) == "XMinioAdminNoSuchPolicy":
            return None
        raise


def _current_user(admin, access_key):
    try:
        return json.loads(admin.user_info(access_key=access_key))
    except MinioAdminException as error:
        if _admin_code(error) == "XMinioAdminNoSuchUser":
            return None
        raise


def _secret_works(server, bucket, access_key, secret_key):
    """Whether MinIO accepts the signature of these keys: the answer to a listing tells, allowed or not."""
    try:
        next(iter(server.client(access_key, secret_key).list_objects(bucket_name=bucket)), None)
    except S3Error as error:
        return error.code not in BAD_CREDENTIALS
    return True


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def prometheus_token(access_key, secret_key, expires):
    """The bearer token MinIO accepts for metrics: a JWT signed with HS512 by the root secret key."""
    header = _b64(json.dumps({"alg": "HS512", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = _b64(json.dumps({"exp": int(expires), "iss": "prometheus", "sub": access_key}, separators=(",", ":")).encode())
    signature = hmac.new(secret_key.encode(), ("%s.%s" % (header, claims)).encode(), hashlib.sha512).digest()
    return "%s.%s.%s" % (header, claims, _b64(signature))


def token_is_current(token, access_key, secret_key, now):
    """Whether a token was signed with these root credentials and stays valid for a while."""
    try:
        header, claims, signature = token.strip().split(".")
        expected = hmac.new(secret_key.encode(), ("%s.%s" % (header, claims)).encode(), hashlib.sha512).digest()
        payload = json.loads(_unb64(claims))
        return (hmac.compare_digest(expected, _unb64(signature)) and payload.get("sub") == access_key
                and payload.get("iss") == "prometheus" and payload.get("exp", 0) > now + TOKEN_MARGIN)
    except ValueError:
        return False


def _write_private(path, text):
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix="." + os.path.basename(path))
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _token_state(server, token_file, now):
    if not os.path.isfile(token_file):
        return "absent"
    with open(token_file, encoding="utf-8") as handle:
        token = handle.read()
    if os.stat(token_file).st_mode & 0o777 != 0o600:
        return "wrong mode"
    return "current" if token_is_current(token, server.access_key, server.secret_key, now) else "stale"


def read_state(server, bucket, policy_name, access_key, secret_key, token_file, now):
    """What the server holds for the bucket, the policy, the user and the token; never a secret."""
    admin = server.admin()
    info = _current_user(admin, access_key)
    state = {
        "bucket_exists": server.client().bucket_exists(bucket_name=bucket),
        "policy": _current_policy(admin, policy_name),
        "user": None,
    }
    if info is not None:
        state["user"] = {
            "status": info.get("status"),
            "policies": sorted(name for name in info.get("policyName", "").split(",") if name),
            # A secret key cannot be read back: a listing signed with it shows whether MinIO accepts it.
            # MinIO checks the signature before the bucket, so this also works while the bucket is missing.
            "secret_key": "accepted" if _secret_works(server, bucket, access_key, secret_key) else "rejected",
        }
    if token_file:
        state["prometheus_token"] = _token_state(server, token_file, now)
    return state


def plan(state, policy_name, policy, token_file):
    """The changes, in the order they are made, that turn the read state into the desired one."""
    changes = []
    if not state["bucket_exists"]:
        changes.append("bucket created")
    current = state["policy"]
    if current is None:
        changes.append("policy created")
    elif normalized_policy(current) != normalized_policy(policy):
        changes.append("policy updated")
    user = state["user"]
    if user is None:
        changes.append("user created")
    elif user["status"] != "enabled":
        changes.append("user enabled")
    elif user["secret_key"] != "accepted":
        changes.append("user secret key updated")
    if user is None or user["policies"] != [policy_name]:
        changes.append("user policy set")
    if token_file and state.get("prometheus_token") != "current":
        changes.append("prometheus token written")
    return changes


def desired_view(state, policy_name, policy, token_file):
    """The state as it reads after a successful run (the diff's after)."""
    after = {"bucket_exists": True, "policy": policy,
             "user": {"status": "enabled", "policies": [policy_name], "secret_key": "accepted"}}
    if token_file:
        after["prometheus_token"] = "current"
    return after


def apply(server, changes, bucket, policy_name, policy, access_key, secret_key, token_file, now):
    """Make the planned changes."""
    admin = server.admin()
    if "bucket created" in changes:
        server.client().make_bucket(bucket_name=bucket)
    if "policy created" in changes or "policy updated" in changes:
        admin.policy_add(policy_name=policy_name, policy=policy)
    if set(changes) & set(["user created", "user enabled", "user secret key updated"]):
        # Adding an existing user sets its secret key and enables it.
        admin.user_add(access_key=access_key, secret_key=secret_key)
    if "user policy set" in changes:
        admin.policy_set(policy_name=policy_name, user=access_key)
    if "prometheus token written" in changes:
        expires = now + TOKEN_YEARS * 365 * 24 * 3600
        _write_private(token_file, prometheus_token(server.access_key, server.secret_key, expires) + "\n")
