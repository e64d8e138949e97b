#!/usr/bin/env bash
# Regenerate requirements/lock.txt: the exact versions the test suite passed with.
#
#   bash scripts/lock.sh            # fresh venv in .lock-venv/, newest allowed versions, tests, lock
#
# Installs torch the README's way (the CPU build; torch is not in the lock: CPU and CUDA builds
# differ per machine), then `pip install -e ".[dev]"` with no constraints, so every other package
# resolves to the newest release pyproject.toml's ranges allow. Runs the README's test command
# and writes the lock only if it passes. Commit the new lock with the test log's last line.
# The lock is what .ci/run and the README's install line use: `pip install -c requirements/lock.txt`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.lock-venv
rm -rf "$venv"
python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu \
    || "$py" -m pip install -q "torch==2.13.0"  # index unreachable: the tested build pip finds
"$py" -m pip install -q -e ".[dev]"
OMP_NUM_THREADS=1 "$py" -m pytest -q -p no:cacheprovider
{
    echo "# The versions the test suite last passed with (Linux x86_64, Python $("$py" -c 'import sys; print(sys.version.split()[0])'), torch $("$py" -c 'import torch; print(torch.__version__)'))."
    echo "# Used as pip constraints: pip install -c requirements/lock.txt -e \".[dev]\" (torch is installed first, not locked)."
    echo "# Regenerate: bash scripts/lock.sh (resolves the newest versions pyproject.toml allows, tests, then writes this)."
    "$py" -m pip freeze --exclude-editable | grep -viE '^(torch|nvidia-|triton)[=-]' | LC_ALL=C sort -f
} > requirements/lock.txt
rm -rf "$venv"
echo "wrote requirements/lock.txt ($(grep -vc '^#' requirements/lock.txt) packages)"
