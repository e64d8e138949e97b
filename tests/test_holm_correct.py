"""scripts/holm_correct.py: Holm over the rows of several difference tables as one family.

Hand-computed: p = (0.01, 0.04) in one file and (0.03, None) in another: sorted 0.01, 0.03,
0.04 with m = 3 -> 0.03, max(0.03, 2 * 0.03) = 0.06, max(0.06, 1 * 0.04) = 0.06; the missing p
stays missing. A file without the column is one line, exit 2.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "holm_correct.py"


def test_holm_across_files_by_hand(tmp_path):
    pd.DataFrame({"method": ["a", "b"], "perm_p": [0.01, 0.04]}).to_csv(tmp_path / "x.csv",
                                                                        index=False)
    pd.DataFrame({"method": ["c", "d"], "perm_p": [0.03, None]}).to_csv(tmp_path / "y.csv",
                                                                        index=False)
    out = tmp_path / "o.csv"
    res = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "x.csv"),
                          str(tmp_path / "y.csv"), "--out", str(out)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "3 tests" not in res.stdout
    got = pd.read_csv(out)
    assert got["p_holm"].tolist()[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert pd.isna(got["p_holm"][3]) and got["survives"].tolist() == [True, False, False, False]
    (tmp_path / "z.csv").write_text("method,p\na,0.1\n")
    bad = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "z.csv")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "has no 'perm_p' column" in bad.stderr


def test_a_family_too_large_for_the_10000_draw_floor_is_flagged(tmp_path):
    """1,000 tests at p = 1/10001 (no draw reached the observed difference): Holm gives each
    1000 x 1e-4 = 0.1, none survives, and the script says why; 100 such tests survive (0.01)."""
    for m, flagged in ((1000, True), (100, False)):
        pd.DataFrame({"perm_p": [1 / 10001] * m}).to_csv(tmp_path / "f.csv", index=False)
        res = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "f.csv"), "--out",
                              str(tmp_path / "o.csv")], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0
        assert ("warning: 1000 tests sit at the 10,000-draw floor" in res.stderr) is flagged
        assert bool(pd.read_csv(tmp_path / "o.csv")["survives"].all()) == (not flagged)
