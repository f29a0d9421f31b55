# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for ansible-test's downloaded get-pip bootstrap script.

``ansible-test --venv`` downloads ``get-pip-<version>.py`` from a host that is not
reachable from our CI. ``make`` seeds ansible-test's cache file
(``~/.ansible/test/cache/get_pip_<version>.py``) with this script, which builds
pip from the interpreter's own ``ensurepip`` and then installs the requested
packages with it. ensurepip runs in a child process so that pip keeps the
machine's own configuration (CA bundle, index, find-links).
"""
import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel", "--no-pip"}


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)


if __name__ == "__main__":
    main()
