"""A client's environment as the README gives it, and nothing of this machine's own trust settings.

These machines point REQUESTS_CA_BUNDLE, AWS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE at the system
store; a user's laptop has none of them. A test of the documented client path drops them, then adds
only what the README tells users to set (README.md, "Deploying").
"""

import os
import shlex

NOT_FROM_THE_README = ("REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                       "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_URI",
                       "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def client_env(uri, bundle, **more):
    """This process's environment without trust or MLflow settings, plus the README's and `more`."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_FROM_THE_README}
    env.update(MLFLOW_TRACKING_URI=uri, REQUESTS_CA_BUNDLE=bundle, **more)
    return env


def client_command(command, uri, bundle, **more):
    """`command` on a test host with the README's settings only (`env -u` drops any the host has)."""
    unset = " ".join(f"-u {name}" for name in NOT_FROM_THE_README)
    settings = " ".join(f"{name}={shlex.quote(value)}" for name, value in
                        dict(MLFLOW_TRACKING_URI=uri, REQUESTS_CA_BUNDLE=bundle, **more).items())
    return f"env {unset} {settings} {command}"
