"""The lock file: what CI and the README install, and what the tests run against.

requirements/lock.txt pins every package of `pip install -e ".[dev]"` (torch excepted: its CPU
and CUDA builds differ per machine) at the version the suite last passed with; `.ci/run` and the
README's install line pass it to pip as constraints. A fresh machine once got a newer pytest
than CI's and failed a test CI passed: these tests keep the lock complete and in use.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{LOCK}: {line!r} is not NAME==VERSION"
            pins[_norm(name)] = version.strip()
    return pins


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_norm(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in reqs}


def test_the_lock_pins_every_declared_dependency_but_torch():
    pins = _lock()
    assert "torch" not in pins and not any(n.startswith("nvidia-") for n in pins)
    assert _declared() - {"torch"} <= set(pins), _declared() - {"torch"} - set(pins)


def test_ci_and_the_readme_install_with_the_lock():
    assert 'pip install -q -c requirements/lock.txt -e ".[dev]"' in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)\n", readme).group(1)  # the first of the two commands
    assert 'pip install -c requirements/lock.txt -e ".[dev]"' in first


def test_the_installed_packages_are_the_locked_versions():
    """Fails where the environment drifted from the lock (a newer pytest once broke a test):
    reinstall with `pip install -c requirements/lock.txt -e ".[dev]"` or re-lock (scripts/lock.sh)."""
    drift = {}
    for name, version in _lock().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a package another platform's resolution does not pull
        if have != version:
            drift[name] = (have, version)
    assert not drift, f"installed vs locked: {drift}"
