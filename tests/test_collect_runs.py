"""scripts/collect_runs.py on hand-made run folders: finished runs mirrored with xz generations
(byte-equal after decompression), unfinished ones left out, a second pass copies nothing,
`--check` reports a run whose generations changed or that gained a human_metrics.json (collected
again without rewriting its generations); a missing source is one line, exit 2; a
truncated .xz in DEST (a copy taken mid-write, an interrupted collect) is collected again, and
reading one is a one-line error naming the file."""

from __future__ import annotations

import json
import lzma
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_tiny_sweep

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "collect_runs.py"


def _run(folder: Path, status: str, text: str) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"status": status}))
    (folder / "run_config.json").write_text("{}")
    (folder / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    (folder / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (folder / "generations.jsonl").write_text(text)


def _call(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_collect_mirrors_finished_runs(tmp_path):
    src, dest = tmp_path / "multirun", tmp_path / "runs"
    _run(src / "dev" / "top_p" / "0", "complete", '{"index": 0, "text": "a"}\n')
    _run(src / "test" / "top_p" / "seed0", "complete", '{"index": 0, "text": "b"}\n')
    _run(src / "test" / "min_p" / "seed0", "partial", '{"index": 0}\n')
    out = _call(src, dest)
    assert out.returncode == 0 and "2 run(s) collected, 0 already there, 1 unfinished" in out.stdout
    got = lzma.decompress((dest / "dev" / "top_p" / "0" / "generations.jsonl.xz").read_bytes())
    assert got == b'{"index": 0, "text": "a"}\n'
    assert (dest / "test" / "top_p" / "seed0" / ".hydra" / "overrides.yaml").exists()
    assert (dest / "test" / "top_p" / "seed0" / ".hydra" / "config.yaml").exists()
    assert not (dest / "test" / "min_p").exists()
    assert "0 run(s) collected, 2 already there" in _call(src, dest).stdout
    assert _call(src, dest, "--check").returncode == 0
    # human text scored after the first collect (run.sh's human stage): --check sees it, a
    # second collect copies it without rewriting the generations
    run = src / "test" / "top_p" / "seed0"
    (run / "human_metrics.json").write_text('{"n": 1}')
    xz = dest / "test" / "top_p" / "seed0" / "generations.jsonl.xz"
    before = xz.stat().st_mtime_ns
    assert _call(src, dest, "--check").returncode == 1
    assert "1 run(s) collected, 1 already there" in _call(src, dest).stdout
    assert (dest / "test" / "top_p" / "seed0" / "human_metrics.json").read_text() == '{"n": 1}'
    assert xz.stat().st_mtime_ns == before and _call(src, dest, "--check").returncode == 0
    (src / "dev" / "top_p" / "0" / "generations.jsonl").write_text('{"index": 0, "text": "c"}\n')
    check = _call(src, dest, "--check")
    assert check.returncode == 1 and "not collected" in check.stdout
    bad = _call(tmp_path / "nope", dest)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not a folder" in bad.stderr


def test_make_tables_reads_collected_runs(tmp_path):
    """A real sweep (two seeds of top_p and of min_p on the tiny model) collected, the multirun
    folder deleted: make_tables' table and paired differences from the collected copy equal
    the ones from the original folder."""
    import shutil

    sweep, env = run_tiny_sweep(tmp_path, "sampler=top_p,min_p", "seed=0,1")

    def tables(src, out):
        res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_tables.py"), str(src),
                              "--by", "sampler.name", "--reference", "top_p", "--metrics",
                              "rep_2,distinct_2", "--out", str(out)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        return [(out.parent / f"{out.name}{x}").read_text() for x in (".csv", "_diff.csv")]

    before = tables(sweep, tmp_path / "a" / "t")
    assert _call(sweep, tmp_path / "runs").returncode == 0
    shutil.rmtree(sweep)
    assert tables(tmp_path / "runs", tmp_path / "b" / "t") == before


def test_a_truncated_collected_copy_is_collected_again_and_reads_as_one_line(tmp_path):
    from alpha.runner.runs import read_rows

    src, dest = tmp_path / "multirun", tmp_path / "runs"
    text = "".join(f'{{"index": {i}, "text": "row {i}"}}\n' for i in range(200))
    _run(src / "a", "complete", text)
    assert _call(src, dest).returncode == 0
    xz = dest / "a" / "generations.jsonl.xz"
    xz.write_bytes(xz.read_bytes()[:40])  # what a copy taken mid-write held
    with pytest.raises(ValueError) as err:
        read_rows(dest / "a")
    msg = str(err.value)
    assert msg.count("\n") == 0 and str(xz) in msg and "collect_runs.py" in msg
    check = _call(src, dest, "--check")
    assert check.returncode == 1 and "not collected" in check.stdout
    out = _call(src, dest)
    assert out.returncode == 0 and "1 run(s) collected" in out.stdout
    assert lzma.decompress(xz.read_bytes()).decode() == text
    assert [p.name for p in (dest / "a").iterdir() if p.name.endswith(".tmp")] == []


def test_restore_unpacks_collected_runs_and_the_runner_reuses_them(tmp_path):
    """A real sweep collected, its folder deleted (a fresh clone), `--restore` puts back every
    file byte for byte; the same sweep re-run generates nothing and evaluates nothing (the log
    says metrics.json is reused) and leaves the generations as they were. A folder that already
    holds generations is never overwritten; an empty DEST restores nothing."""
    import shutil

    sweep, env = run_tiny_sweep(tmp_path, "sampler=top_p", "seed=0,1")
    runs = tmp_path / "runs"
    assert _call(sweep, runs).returncode == 0
    names = ("generations.jsonl", "metrics.json", "run_config.json", ".hydra/overrides.yaml")
    before = {(r.name, n): (r / n).read_bytes() for r in sorted(sweep.iterdir()) if r.is_dir()
              for n in names}
    assert len(before) == 2 * len(names)
    shutil.rmtree(sweep)
    out = _call(sweep, runs, "--restore")
    assert out.returncode == 0 and "2 run(s) restored, 0 already" in out.stdout, out.stdout
    assert {k: (sweep / k[0] / k[1]).read_bytes() for k in before} == before
    assert "0 run(s) restored, 2 already" in _call(sweep, runs, "--restore").stdout
    run_tiny_sweep(tmp_path, "sampler=top_p", "seed=0,1")  # same sweep folder, resumed
    for r in {k[0] for k in before}:
        assert (sweep / r / "generations.jsonl").read_bytes() == before[(r, "generations.jsonl")]
        assert "reusing it" in (sweep / r / "run.log").read_text()
    # never over a folder with rows of its own
    first = sweep / min(k[0] for k in before) / "generations.jsonl"
    first.write_text('{"index": 0}\n')
    assert "0 run(s) restored, 2 already" in _call(sweep, runs, "--restore").stdout
    assert first.read_text() == '{"index": 0}\n'
    empty = _call(tmp_path / "new", tmp_path / "none", "--restore")
    assert empty.returncode == 0 and "0 run(s) restored" in empty.stdout
