"""scripts/bench_batch_size.py runs offline on the tiny model (its figure: the Study 2 README)."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # as `python scripts/bench_batch_size.py` has it


def test_bench_batch_size_runs_offline_on_the_tiny_model(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "scripts" / "bench_batch_size.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps(["To be, or not to be", "Now is the winter", "O Romeo"] * 2))
    out = bench.main(["--model-path", str(ROOT / "models" / "tiny-shakespeare"), "--prompts-json",
                      str(prompts), "--prompts", "6", "--batches", "2,6", "--new-tokens", "3"])
    assert set(out) == {2, 6} and out[2]["ratio"] == 1.0
    assert out[6]["tokens_per_s"] > 0 and out[6]["seconds"] > 0
