"""scripts/bench_eval_passes.py runs offline on the tiny model (its figures: docs/performance.md).

The old ways it times (a full LM forward for features, full logits for scoring) are the
independent references here: the new features equal them exactly, the new perplexities within
float32 rounding, and a second MAUVE run with the same references gives the same value.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # as `python scripts/bench_eval_passes.py` has it


def test_bench_eval_passes_runs_offline_on_the_tiny_model(capsys):
    spec = importlib.util.spec_from_file_location("bench_eval", ROOT / "scripts" / "bench_eval_passes.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--model", "tiny", "--data", "heldout", "--rows", "8", "--repeats", "1",
                      "--tokens", "16"])
    assert set(out) == {"features", "scoring", "mauve_second_run"}
    assert all(v > 0 for v in out.values())
    printed = capsys.readouterr().out
    assert "max |diff| 0.00e+00" in printed  # decoder-only features are the LM's, bit for bit
    rel = float(printed.split("max relative perplexity diff ")[1].split()[0])
    assert rel < 1e-4
