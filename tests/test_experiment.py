"""The run loop's pieces on a tiny random model: resumable files, OOM back-off, folder checks,
and model loading from a local folder (and the one-line offline message for a hub id).

Bad inputs tried: a torn last line in generations.jsonl, a corrupt, a binary and an index-less
line inside it, a batch cut short by a kill mid-write, an out-of-memory error on big batches,
a non-OOM RuntimeError, OOM at batch size 1, a folder holding another config's results (with and
without force), an output path under a regular file, records without a prompt, no records, a
hub id offline, a missing model folder, a folder without config.json, unknown dtype/device.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch

from alpha import build_sampler
from alpha.generation import generate
from alpha.models import load_model_and_tokenizer
from alpha.runner.experiment import (
    ExperimentSpec,
    _normalise,
    append_rows,
    generate_with_backoff,
    make_rows,
    prepare_output_dir,
    read_finished,
    run_experiment,
)
from tests.conftest import make_tiny_model

EVAL = {"metrics": ["distinct_2", "rep_2"], "options": {"bootstrap_samples": 0}, "headline": "distinct_2"}
PROMPTS = [f"The {w} of the night" for w in ("king", "queen", "fool", "ghost")]


def _spec(tmp_path, **kw) -> ExperimentSpec:
    return ExperimentSpec(output_dir=str(tmp_path / "run"), evaluation=EVAL, **kw)


# ------------------------------------------------------------------------ generations.jsonl


def test_torn_last_line_is_dropped_and_cut(tmp_path):
    path = tmp_path / "generations.jsonl"
    append_rows(path, [{"index": 0, "text": "a"}, {"index": 1, "text": "b"}])
    with open(path, "a") as f:
        f.write('{"index": 2, "te')  # what a SIGKILL mid-write leaves
    rows = read_finished(path)
    assert sorted(rows) == [0, 1]
    assert path.read_text().endswith('"b"}\n')  # the torn bytes are gone; appends stay valid
    append_rows(path, [{"index": 2, "text": "c"}])
    assert sorted(read_finished(path)) == [0, 1, 2]


@pytest.mark.parametrize(("bad", "why"), [
    (b'{"index": 1, te\n', "not JSON: Expecting property name enclosed in double quotes"),
    (b"\xff\xfe\x00\x01garbage\n", "binary data, not UTF-8 text"),
    (b'{"text": "no index"}\n', "a row without an integer 'index'"),
])
def test_a_corrupt_line_names_file_line_and_a_fix_that_works(engine, tmp_path, bad, why):
    """Bad inputs: a line cut inside its JSON, binary bytes, a row without an index, each in
    the middle of generations.jsonl. One line with file:line; force=true sets the file aside."""
    run, records = engine
    out = tmp_path / "run"
    spec = _spec(tmp_path, batch_size=2, progress=False)
    run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records[:2],
                   generate_fn=run)
    path = out / "generations.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + bad + lines[1])
    with pytest.raises(ValueError) as err:
        run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                       generate_fn=_never)
    msg = str(err.value)
    assert msg.startswith(f"{path}:2: {why}") and "force=true" in msg and "\n" not in msg
    forced = _spec(tmp_path, batch_size=2, progress=False, force=True)
    result = run_experiment(forced, model=None, tokenizer=None, sampler=None, records=records,
                            generate_fn=run)
    assert result.n_prompts == 4 and (out / "generations.jsonl.old-1").read_bytes().count(b"\n") == 3


def test_a_batch_cut_short_runs_again_whole(engine, tmp_path):
    """A kill inside a batch's write (rows 0-1 of batch [0 1 2 3] written, row 2 torn): the
    resume runs the whole batch again, as the uninterrupted run formed it, not rows [2 3] alone
    (a row's floats depend on its padded batch). The result is byte-equal to the uninterrupted
    run's file."""
    run, records = engine
    whole = _spec(tmp_path / "whole", batch_size=4, progress=False)
    run_experiment(whole, model=None, tokenizer=None, sampler=None, records=records, generate_fn=run)
    want = (tmp_path / "whole" / "run" / "generations.jsonl").read_bytes()
    spec = _spec(tmp_path, batch_size=4, progress=False)
    prepare_output_dir(spec)
    rows = run(records)  # the batch as it was generated, then cut by a kill mid-write
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    cut = text.index("\n", text.index("\n") + 1) + 1 + 40  # rows 0, 1 and 40 bytes of row 2
    (tmp_path / "run" / "generations.jsonl").write_text(text[:cut])
    batches = []

    def spy(batch):
        batches.append([r["index"] for r in batch])
        return run(batch)

    run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records, generate_fn=spy)
    assert batches == [[0, 1, 2, 3]]
    assert (tmp_path / "run" / "generations.jsonl").read_bytes() == want


def test_pending_batches_keeps_whole_batches_and_names_the_rows_to_redo():
    from alpha.runner.experiment import pending_batches

    recs = [{"index": i} for i in range(7)]
    done = {0: {}, 1: {}, 2: {}, 4: {}}  # batch [0 1 2] done, [3 4 5] partial, [6] missing
    todo, redo = pending_batches(recs, done, 3)
    assert [r["index"] for r in todo] == [3, 4, 5, 6] and redo == [4]
    assert pending_batches(recs, {i: {} for i in range(7)}, 3) == ([], [])


# ------------------------------------------------------------------------ out-of-memory


@pytest.fixture(scope="module")
def engine(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    sampler = build_sampler("alpha")
    records = _normalise([{"prompt": p} for p in PROMPTS])

    def run(batch):
        res = generate(model, tiny_tokenizer, [r["prompt"] for r in batch], sampler=sampler,
                       max_new_tokens=4, seed=3, prompt_indices=[r["index"] for r in batch])
        return make_rows(batch, res)

    return run, records


def test_oom_halves_the_batch_and_gives_the_same_rows(engine, caplog):
    run, records = engine
    calls = []

    def flaky(batch):  # the real engine, but batches above 2 prompts "run out of memory"
        calls.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return run(batch)

    got: list[dict] = []
    with caplog.at_level(logging.WARNING, logger="alpha.runner.experiment"):
        final = generate_with_backoff(flaky, records, 4, got.extend)
    assert final == 2 and calls == [4, 2, 2]  # 4 -> OOM -> 2, kept for the next batch
    assert "out of memory" in caplog.text and "batch_size=2" in caplog.text
    one_by_one: list[dict] = []
    generate_with_backoff(run, records, 1, one_by_one.extend)
    assert [r["index"] for r in got] == [0, 1, 2, 3]
    assert [r["text"] for r in got] == [r["text"] for r in one_by_one]  # seeded per prompt


def test_oom_at_batch_one_and_other_errors_propagate(engine):
    _, records = engine

    def oom(batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        generate_with_backoff(oom, records, 1, lambda rows: None)

    def broken(batch):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        generate_with_backoff(broken, records, 4, lambda rows: None)


def test_rows_follow_the_design_format(engine):
    run, records = engine
    row = run(records[:1])[0]
    assert set(row) == {"index", "prompt", "reference", "answer", "text", "token_ids",
                        "token_logprobs", "num_tokens", "finish_reason", "trace", "metrics"}
    assert row["num_tokens"] == len(row["token_ids"]) == len(row["token_logprobs"]) <= 4
    assert all(lp <= 0.0 for lp in row["token_logprobs"])
    assert all(len(v) == row["num_tokens"] for v in row["trace"].values())
    json.dumps(row)  # JSON-serialisable as is


def test_ctrl_c_keeps_finished_batches_and_resume_completes(engine, tmp_path):
    from alpha.evaluation import evaluate_records

    run, records = engine
    calls = []

    def interrupted(batch):  # Ctrl-C arrives during the second batch
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run(batch)

    spec = _spec(tmp_path, batch_size=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                       generate_fn=interrupted)
    out = tmp_path / "run"
    assert [r["index"] for r in read_finished(out / "generations.jsonl").values()] == [0, 1]
    partial = json.loads((out / "metrics.json").read_text())
    assert partial["status"] == "partial" and partial["n_prompts"] == 2
    calls.clear()
    result = run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                            generate_fn=run)  # resume: only prompts 2 and 3 are generated
    rows = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    ref = evaluate_records(rows, metrics=["distinct_2", "rep_2"], options={"bootstrap_samples": 0})
    assert result.value == pytest.approx(ref.aggregates["distinct_2"]["mean"])
    assert [r["metrics"] for r in rows] == ref.per_prompt
    final = json.loads((out / "metrics.json").read_text())
    assert final["status"] == "complete" and final["headline"]["value"] == pytest.approx(result.value)
    # a smaller run in the same folder evaluates its own prompts and keeps the others' rows
    def never(batch):
        raise AssertionError("all prompts are finished; nothing should be generated")

    small = run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records[:2],
                           generate_fn=never)
    assert small.n_prompts == 2
    kept = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    assert [r["index"] for r in kept] == [0, 1, 2, 3] and kept[2:] == rows[2:]


# ------------------------------------------------------------------------ resume: reuse metrics


@pytest.fixture()
def counted(monkeypatch):
    """Counts the runner's evaluations (the real `_evaluate` still runs)."""
    import alpha.runner.experiment as ex

    calls = []
    real = ex._evaluate

    def wrapped(rows, *args, **kw):
        calls.append(len(rows))
        return real(rows, *args, **kw)

    monkeypatch.setattr(ex, "_evaluate", wrapped)
    return calls


def _never(batch):
    raise AssertionError("all prompts are finished; nothing should be generated")


def test_a_complete_run_resumed_reuses_its_metrics(engine, tmp_path, counted):
    from alpha.evaluation import evaluate_records

    run, records = engine
    spec = _spec(tmp_path, batch_size=2, progress=False)
    first = run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                           generate_fn=run)
    out = tmp_path / "run"
    files = {n: (out / n).read_text() for n in ("generations.jsonl", "metrics.json")}
    assert counted == [4]
    again = run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                           generate_fn=_never)
    assert counted == [4]  # not evaluated again
    assert {n: (out / n).read_text() for n in files} == files
    rows = [json.loads(x) for x in files["generations.jsonl"].splitlines()]
    ref = evaluate_records(rows, metrics=EVAL["metrics"], options=EVAL["options"])
    assert again.metrics == first.metrics == json.loads(files["metrics.json"])["metrics"]
    assert again.value == pytest.approx(ref.aggregates["distinct_2"]["mean"])
    # another headline among the same metrics: still reused, the headline follows the config
    other = _spec(tmp_path, batch_size=2, progress=False)
    other.evaluation = {**EVAL, "headline": "rep_2"}
    third = run_experiment(other, model=None, tokenizer=None, sampler=None, records=records,
                           generate_fn=_never)
    assert counted == [4] and third.value == pytest.approx(ref.aggregates["rep_2"]["mean"])
    assert json.loads((out / "metrics.json").read_text())["headline"]["name"] == "rep_2"


@pytest.mark.parametrize("change", ["options", "metrics", "oracle", "legacy", "row", "partial",
                                    "subset"])
def test_a_changed_evaluation_or_rows_is_evaluated_again(engine, tmp_path, counted, change):
    from alpha.evaluation import evaluate_records

    run, records = engine
    spec = _spec(tmp_path, batch_size=4, progress=False)
    run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                   generate_fn=run)
    out = tmp_path / "run"
    ev, todo = dict(EVAL), records
    if change == "options":  # a default filled in explicitly is the same evaluation: reused
        ev["options"] = {**EVAL["options"], "simctg_compat": False}
        spec.evaluation = ev
        run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                       generate_fn=_never)
        assert counted == [4]
        ev["options"] = {**EVAL["options"], "simctg_compat": True}
    elif change == "metrics":
        ev["metrics"] = [*EVAL["metrics"], "rep_4"]
    elif change == "oracle":  # evaluation.oracle (a conf/model name) changed
        ev["oracle"] = "tiny"
    elif change in ("legacy", "partial"):  # written before evaluations were recorded / unfinished
        m = json.loads((out / "metrics.json").read_text())
        m.pop("evaluation") if change == "legacy" else m.update(status="partial")
        (out / "metrics.json").write_text(json.dumps(m))
    elif change == "row":  # a row edited by hand (or rewritten by an unfinished evaluation)
        lines = (out / "generations.jsonl").read_text().splitlines()
        row = json.loads(lines[1])
        row["text"] += " the the the"
        lines[1] = json.dumps(row)
        (out / "generations.jsonl").write_text("\n".join(lines) + "\n")
    else:  # a smaller run in the same folder
        todo = records[:2]
    spec.evaluation = ev
    result = run_experiment(spec, model=None, tokenizer=None, sampler=None, records=todo,
                            generate_fn=_never)
    assert counted == [4, len(todo)]
    rows = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    ref = evaluate_records(rows[:len(todo)], metrics=ev["metrics"], options=ev["options"])
    assert result.metrics == ref.aggregates
    assert json.loads((out / "metrics.json").read_text())["evaluation"]["metrics"] == ev["metrics"]


def test_resumed_rows_without_token_logprobs_fail_before_generating(engine, tmp_path):
    run, records = engine
    spec = _spec(tmp_path, batch_size=2, progress=False)
    spec.evaluation = {"metrics": ["perplexity", "rep_2"], "headline": "rep_2",
                       "options": {"perplexity_source": "generation", "bootstrap_samples": 0}}
    out = tmp_path / "run"
    old = [{k: v for k, v in r.items() if k != "token_logprobs"} for r in run(records[:2])]
    prepare_output_dir(spec)
    append_rows(out / "generations.jsonl", old)  # rows made before the engine kept log-probs
    with pytest.raises(ValueError) as err:
        run_experiment(spec, model=None, tokenizer=None, sampler=None, records=records,
                       generate_fn=_never)
    assert "\n" not in str(err.value) and "perplexity_source=rescore" in str(err.value)
    assert len(read_finished(out / "generations.jsonl")) == 2  # nothing lost


# ------------------------------------------------------------------------ the run folder


def test_folder_of_another_config_is_refused_then_forced(tmp_path):
    prepare_output_dir(_spec(tmp_path, fingerprint={"sampler": {"temp_max": 1.0}, "seed": 0}))
    append_rows(tmp_path / "run" / "generations.jsonl", [{"index": 0}])
    same = _spec(tmp_path, fingerprint={"sampler": {"temp_max": 1.0}, "seed": 0})
    prepare_output_dir(same)  # same config: accepted (resume)
    other = _spec(tmp_path, fingerprint={"sampler": {"temp_max": 0.5}, "seed": 0})
    with pytest.raises(ValueError, match=r"different config \(differs in: sampler.temp_max\).*force=true"):
        prepare_output_dir(other)
    assert (tmp_path / "run" / "generations.jsonl").exists()  # nothing lost
    other.force = True
    prepare_output_dir(other)
    assert (tmp_path / "run" / "generations.jsonl.old-1").exists()
    assert not (tmp_path / "run" / "generations.jsonl").exists()
    saved = json.loads((tmp_path / "run" / "run_config.json").read_text())
    assert saved["fingerprint"]["sampler"]["temp_max"] == 0.5


def test_a_run_recorded_before_rep_penalty_scope_existed_still_resumes(tmp_path):
    """rep_penalty_scope=all reproduces the texts of configs without the key, so it is left out
    of the fingerprint; lexical changes the texts and is in it."""
    from alpha.runner.config import fingerprint

    old = {"sampler": {"name": "alpha", "temp_max": 1.0}, "seed": 0}
    prepare_output_dir(_spec(tmp_path, fingerprint=fingerprint(old)))
    append_rows(tmp_path / "run" / "generations.jsonl", [{"index": 0}])
    now = {"sampler": {**old["sampler"], "rep_penalty_scope": "all"}, "seed": 0}
    prepare_output_dir(_spec(tmp_path, fingerprint=fingerprint(now)))  # resumed
    lexical = {"sampler": {**old["sampler"], "rep_penalty_scope": "lexical"}, "seed": 0}
    with pytest.raises(ValueError, match=r"differs in: sampler.rep_penalty_scope"):
        prepare_output_dir(_spec(tmp_path, fingerprint=fingerprint(lexical)))


def test_a_retrained_checkpoint_at_the_same_path_is_not_resumed(tmp_path):
    """The fingerprint signs the local model files: rewriting the weights changes it."""
    from alpha.runner.config import fingerprint

    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2"}')
    (folder / "model.safetensors").write_bytes(bytes(3 << 20))  # 3 MiB: first/last MiB signed
    data = tmp_path / "p.jsonl"
    data.write_text('{"prompt": "a"}\n')
    c = {"model": {"path": str(folder)}, "dataset": {"path": str(data)}, "seed": 0}
    (folder / ".alpha-verified.json").write_text("{}")  # the cache's stat stamp: not signed
    fp = fingerprint(c)
    assert set(fp["files"]) == {"config.json", "model.safetensors", "p.jsonl"}
    prepare_output_dir(_spec(tmp_path, fingerprint=fp))
    append_rows(tmp_path / "run" / "generations.jsonl", [{"index": 0}])
    blob = bytearray(3 << 20)
    blob[-1] = 1  # "retrained": the tail of the weights differs
    (folder / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"differs in: files.model.safetensors"):
        prepare_output_dir(_spec(tmp_path, fingerprint=fingerprint(c)))


def test_unwritable_output_dir(tmp_path):
    (tmp_path / "file").write_text("x")  # a path under a regular file cannot be created
    spec = ExperimentSpec(output_dir=str(tmp_path / "file" / "run"), evaluation=EVAL)
    with pytest.raises(ValueError, match="output_dir=.* is not writable.*hydra.run.dir"):
        prepare_output_dir(spec)


def test_bad_records_and_bad_spec():
    with pytest.raises(ValueError, match="no string 'prompt' field"):
        _normalise([{"text": "x"}])
    with pytest.raises(ValueError, match="no prompts to run"):
        _normalise([])
    with pytest.raises(ValueError, match="batch_size=0"):
        ExperimentSpec(output_dir=".", evaluation=EVAL, batch_size=0)
    with pytest.raises(ValueError, match="evaluation.headline='mauve' is not among"):
        ExperimentSpec(output_dir=".", evaluation={**EVAL, "headline": "mauve"})


# ------------------------------------------------------------------------ models


def test_local_folder_loads_the_same_model(tmp_path, tiny_tokenizer):
    model = make_tiny_model("llama")
    model.save_pretrained(tmp_path / "ckpt")
    tiny_tokenizer.save_pretrained(tmp_path / "ckpt")
    loaded, tok = load_model_and_tokenizer(str(tmp_path / "ckpt"), device="cpu")
    ids = torch.tensor([[5, 6, 7, 8]])
    torch.testing.assert_close(loaded(ids).logits, model(ids).logits)  # transformers' own model
    assert tok.padding_side == "left" and not loaded.training


def test_model_errors_are_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"^model Qwen/Qwen2.5-0.5B-Instruct: no such folder "
                                         r"\(.*\), and as a hub id it is not in the local hub "
                                         r"cache \(HF_HUB_OFFLINE=1\); .* HF_HUB_OFFLINE=0"):
        load_model_and_tokenizer("Qwen/Qwen2.5-0.5B-Instruct", device="cpu")
    with pytest.raises(ValueError, match=f"no such folder \\({tmp_path / 'missing'}\\)"):
        load_model_and_tokenizer(str(tmp_path / "missing"), device="cpu")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        load_model_and_tokenizer(str(tmp_path / "weights.bin"), device="cpu")
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(ValueError, match="no config.json"):
        load_model_and_tokenizer(str(tmp_path), device="cpu")
    with pytest.raises(ValueError, match="dtype='float8'"):
        load_model_and_tokenizer(str(tmp_path), device="cpu", dtype="float8")
    with pytest.raises(ValueError, match="device='tpu'"):
        load_model_and_tokenizer(str(tmp_path), device="tpu")
    big = make_tiny_model("qwen2", vocab_size=256)  # the test tokenizer has more tokens: does not fit
    big.save_pretrained(tmp_path / "small_vocab")
    from transformers import AutoTokenizer

    from tests.conftest import ASSETS

    AutoTokenizer.from_pretrained(ASSETS / "tokenizer").save_pretrained(tmp_path / "small_vocab")
    with pytest.raises(ValueError, match=r"tokenizer has \d+ tokens but the model's embedding has only 256"):
        load_model_and_tokenizer(str(tmp_path / "small_vocab"), device="cpu")


def test_nan_weights_name_the_file_and_the_parameter(tmp_path, tiny_tokenizer):
    """A checkpoint whose weights hold NaN (a corrupt or badly converted file) is refused when
    loaded, naming the weights file and the first bad parameter."""
    model = make_tiny_model("llama")
    with torch.no_grad():
        model.model.layers[0].mlp.up_proj.weight[3, :5] = float("nan")
    model.save_pretrained(tmp_path / "nan")
    tiny_tokenizer.save_pretrained(tmp_path / "nan")
    with pytest.raises(ValueError) as err:
        load_model_and_tokenizer(str(tmp_path / "nan"), device="cpu")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'nan' / 'model.safetensors'}: weight "
                          "model.layers.0.mlp.up_proj.weight holds 5 NaN/inf values")
    assert "\n" not in msg
