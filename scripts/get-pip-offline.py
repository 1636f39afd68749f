"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host that offline and proxied machines cannot reach, but it
uses a cached copy first. This stand-in bootstraps pip with ensurepip in a child process (ensurepip
in-process would drop pip's configuration, and with it the CA and index settings), then installs
what ansible-test asked for with that pip.
"""

import subprocess
import sys

REJECTED_BY_PIP_INSTALL = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    args = [arg for arg in sys.argv[1:] if arg not in REJECTED_BY_PIP_INSTALL]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
