"""The collection tarball holds the collection and nothing a checkout accumulates that is secret.

ansible-galaxy packs every file it finds that galaxy.yml's build_ignore does not name, untracked ones
included. The build runs on a copy of the tracked files planted with what a user's checkout holds after
`make demo` and a deployment from it: demo/ (its inventory, secrets.yml and CA key), an inventory/
with a vault file, and a CA directory next to an inventory.
"""

import re
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).parents[2]
# A private key block with a body, not a mention of the marker in code or docs.
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{16}")
SECRET = "planted-secret-0123456789"
PLANTED = {
    "demo/secrets.yml": "mlflow_db_password: %s\n" % SECRET,
    "demo/inventory/hosts.yml": "all: {}\n",
    "demo/mlflow-ca/ca.key": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n%s\n" % SECRET,
    "inventory/group_vars/all/vault.yml": "mlflow_s3_secret_key: %s\n" % SECRET,
    "inventory.example/single-host/mlflow-ca/ca.key": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n%s\n" % SECRET,
    "tests/output/steps/default.log": SECRET + "\n",
}


def _build(tmp_path):
    source = tmp_path / "source"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if not (REPO / name).is_file():
            continue  # deleted in the working tree
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / name).read_bytes())
    for name, text in PLANTED.items():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(source)],
                   capture_output=True, text=True, check=True)
    (tarball,) = tmp_path.glob("mlops-mlflow-*.tar.gz")
    return tarfile.open(tarball)


def test_tarball_holds_the_collection_and_no_secret(tmp_path):
    with _build(tmp_path) as tarball:
        members = {member.name: member for member in tarball.getmembers()}
        names = set(members)
        for expected in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "roles/mlflow/tasks/main.yml",
                         "plugins/filter/stack.py", "playbooks/site.yml", "README.md"):
            assert expected in names, expected
        for name in names:
            top = name.split("/")[0]
            assert top not in ("demo", "inventory", "tests", "molecule", "benchmarks", "scripts", ".cache", ".venv"), name
            assert "mlflow-ca" not in name.split("/"), name
            assert not name.endswith((".key", ".pem", ".tar.gz")), name
        for name, member in members.items():
            if member.isfile():
                text = tarball.extractfile(member).read().decode("utf-8", "replace")
                assert SECRET not in text, name
                assert not PEM_KEY.search(text), name
