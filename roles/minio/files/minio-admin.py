"""Admin helper of the mlops.mlflow.minio role, run with the Python of the role's admin venv.

  --env-file FILE ready [--timeout SECONDS] [--tls-server-name NAME]
      Wait until GET /minio/health/ready answers 200.
  --env-file FILE [--check] apply
      Make the state read as JSON from stdin true: the bucket, a canned policy, a user with its secret
      key and exactly that policy, and optionally a Prometheus bearer token file. Prints JSON
      {"changed": bool, "changes": [...], ...}. With --check nothing is written.

The root credentials and the endpoint come from the server's environment file (MINIO_ROOT_USER,
MINIO_ROOT_PASSWORD, --address and --certs-dir in MINIO_OPTS), and the user's secret from stdin, so no
secret appears in a process list or in Ansible's output. The endpoint speaks TLS when the certificate
directory holds public.crt, as the server does; the certificate is checked against public.crt and
CAs/, for the name given as tls_server_name.

State on stdin:
  {"bucket": "mlflow", "policy_name": "mlflow-bucket", "policy": {...IAM policy...},
   "user": {"access_key": "mlflow", "secret_key": "..."},
   "tls_server_name": "minio1.example.net", "prometheus_token_file": "/etc/minio/prometheus.token"}
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import ssl
import sys
import tempfile
import time
from pathlib import Path

# Errors that mean "these credentials are wrong", as opposed to "not allowed" or "no such bucket".
BAD_CREDENTIALS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId"}
TOKEN_YEARS = 10
# A token closer than this to its expiry is replaced.
TOKEN_MARGIN = 30 * 24 * 3600


def read_env_file(path):
    """Read a systemd environment file as the role writes it: KEY="value" with \\ and \" escaped."""
    env = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        env[key.strip()] = value
    return env


class Server:
    """Where and how to reach the local MinIO server, read from its environment file."""

    def __init__(self, env_file, tls_server_name=""):
        env = read_env_file(env_file)
        try:
            self.access_key = env["MINIO_ROOT_USER"]
            self.secret_key = env["MINIO_ROOT_PASSWORD"]
        except KeyError as missing:
            sys.exit(f"{env_file} does not set {missing}")
        opts = shlex.split(env.get("MINIO_OPTS", ""))
        address = _option(opts, "--address", ":9000")
        certs_dir = Path(_option(opts, "--certs-dir", str(Path.home() / ".minio" / "certs")))
        host, _sep, port = address.rpartition(":")
        # A server listening on every address is reached on loopback.
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        self.endpoint = f"{host}:{port}"
        self.secure = (certs_dir / "public.crt").is_file()
        self.http = _pool(certs_dir, tls_server_name) if self.secure else _pool(None, "")

    def admin(self):
        from minio import MinioAdmin
        from minio.credentials import StaticProvider

        return MinioAdmin(endpoint=self.endpoint, credentials=StaticProvider(access_key=self.access_key, secret_key=self.secret_key),
                          secure=self.secure, http_client=self.http)

    def client(self, access_key=None, secret_key=None):
        from minio import Minio

        return Minio(endpoint=self.endpoint, access_key=access_key or self.access_key,
                     secret_key=secret_key or self.secret_key, secure=self.secure, http_client=self.http)

    def url(self, path):
        return ("https://" if self.secure else "http://") + self.endpoint + path


def _option(opts, name, default):
    for index, opt in enumerate(opts):
        if opt == name and index + 1 < len(opts):
            return opts[index + 1]
        if opt.startswith(name + "="):
            return opt.split("=", 1)[1]
    return default


def _pool(certs_dir, server_name):
    import urllib3

    timeout = urllib3.Timeout(connect=10, read=60)
    retries = urllib3.Retry(total=3, backoff_factor=0.5, status_forcelist=[500, 502, 503, 504])
    if certs_dir is None:
        return urllib3.PoolManager(timeout=timeout, retries=retries)
    context = ssl.create_default_context(cafile=str(certs_dir / "public.crt"))
    # The served certificate itself is a trust anchor here, whoever signed it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    for ca in sorted((certs_dir / "CAs").glob("*")) if (certs_dir / "CAs").is_dir() else []:
        if ca.is_file():
            context.load_verify_locations(cafile=str(ca))
    name = server_name or "localhost"
    return urllib3.PoolManager(timeout=timeout, retries=retries, ssl_context=context,
                               server_hostname=name, assert_hostname=name)


def ready(server, timeout):
    start = time.monotonic()
    last = ""
    while True:
        try:
            response = server.http.request("GET", server.url("/minio/health/ready"), retries=False)
            if response.status == 200:
                print(json.dumps({"ready": True, "seconds": round(time.monotonic() - start, 1)}))
                return
            last = f"HTTP {response.status}"
        except Exception as error:  # connection refused while the server starts, TLS errors
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() - start > timeout:
            sys.exit(f"{server.url('/minio/health/ready')} was not ready after {timeout} s: {last}")
        time.sleep(1)


def _admin_code(error):
    """The MinIO error code of a MinioAdminException, such as XMinioAdminNoSuchUser."""
    body = getattr(error, "_body", "") or ""
    try:
        return json.loads(body).get("Code", "")
    except ValueError:
        return ""


def _normalized_policy(policy):
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
    from minio.error import MinioAdminException

    try:
        return json.loads(admin.policy_info(policy_name=name))
    except MinioAdminException as error:
        if _admin_code(error) == "XMinioAdminNoSuchPolicy":
            return None
        raise


def _current_user(admin, access_key):
    from minio.error import MinioAdminException

    try:
        return json.loads(admin.user_info(access_key=access_key))
    except MinioAdminException as error:
        if _admin_code(error) == "XMinioAdminNoSuchUser":
            return None
        raise


def _secret_works(server, bucket, access_key, secret_key):
    """Whether MinIO accepts the signature of these keys: the answer to a listing tells, allowed or not."""
    from minio.error import S3Error

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
    signature = hmac.new(secret_key.encode(), f"{header}.{claims}".encode(), hashlib.sha512).digest()
    return f"{header}.{claims}.{_b64(signature)}"


def token_is_current(token, access_key, secret_key, now):
    """Whether a token was signed with these root credentials and stays valid for a while."""
    try:
        header, claims, signature = token.strip().split(".")
        expected = hmac.new(secret_key.encode(), f"{header}.{claims}".encode(), hashlib.sha512).digest()
        payload = json.loads(_unb64(claims))
        return (hmac.compare_digest(expected, _unb64(signature)) and payload.get("sub") == access_key
                and payload.get("iss") == "prometheus" and payload.get("exp", 0) > now + TOKEN_MARGIN)
    except ValueError:
        return False


def _write_private(path, text):
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply(server, state, check):
    admin = server.admin()
    root = server.client()
    bucket, policy_name, user = state["bucket"], state["policy_name"], state["user"]
    changes = []

    bucket_exists = root.bucket_exists(bucket_name=bucket)
    if not bucket_exists:
        changes.append("bucket created")
        if not check:
            root.make_bucket(bucket_name=bucket)

    current = _current_policy(admin, policy_name)
    if current is None or _normalized_policy(current) != _normalized_policy(state["policy"]):
        changes.append("policy created" if current is None else "policy updated")
        if not check:
            admin.policy_add(policy_name=policy_name, policy=state["policy"])

    # A user's secret key cannot be read back: a listing signed with it shows whether MinIO accepts it.
    # MinIO checks the signature before the bucket, so this also works while the bucket is missing.
    info = _current_user(admin, user["access_key"])
    if info is None:
        reason = "user created"
    elif info.get("status") != "enabled":
        reason = "user enabled"
    elif not _secret_works(server, bucket, user["access_key"], user["secret_key"]):
        reason = "user secret key updated"
    else:
        reason = None
    if reason:
        changes.append(reason)
        if not check:
            # Adding an existing user sets its secret key and enables it.
            admin.user_add(access_key=user["access_key"], secret_key=user["secret_key"])

    mapped = {name for name in (info or {}).get("policyName", "").split(",") if name}
    if mapped != {policy_name}:
        changes.append("user policy set")
        if not check:
            admin.policy_set(policy_name=policy_name, user=user["access_key"])

    token_file = state.get("prometheus_token_file") or ""
    if token_file:
        now = time.time()
        path = Path(token_file)
        current_token = path.read_text(encoding="utf-8") if path.is_file() else ""
        mode_ok = path.is_file() and (path.stat().st_mode & 0o777) == 0o600
        if not (mode_ok and token_is_current(current_token, server.access_key, server.secret_key, now)):
            changes.append("prometheus token written")
            if not check:
                expires = now + TOKEN_YEARS * 365 * 24 * 3600
                _write_private(path, prometheus_token(server.access_key, server.secret_key, expires) + "\n")

    print(json.dumps({"changed": bool(changes), "changes": changes, "check_mode": check, "bucket": bucket,
                      "policy": policy_name, "user": user["access_key"]}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--env-file", required=True, help="the server's environment file")
    parser.add_argument("--check", action="store_true", help="report what would change, change nothing")
    commands = parser.add_subparsers(dest="command", required=True)
    ready_parser = commands.add_parser("ready")
    ready_parser.add_argument("--timeout", type=float, default=120)
    ready_parser.add_argument("--tls-server-name", default="")
    commands.add_parser("apply")
    args = parser.parse_args(argv)

    if args.command == "ready":
        ready(Server(args.env_file, args.tls_server_name), args.timeout)
        return
    state = json.load(sys.stdin)
    apply(Server(args.env_file, state.get("tls_server_name", "")), state, args.check)


if __name__ == "__main__":
    main()
