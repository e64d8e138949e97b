"""Every option of every config group, and every experiment, composes and validates.

Options are discovered by listing conf/, so a new YAML is tested the day it lands. Composition
uses Hydra's own compose API; validation uses the same runner functions run.py calls (sampler
built by the registry, settings, model/dataset arguments), without loading any model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from alpha.runner import config as hc

CONF = Path(__file__).resolve().parents[1] / "conf"
# the groups of config.yaml's defaults list (conf/ may hold non-Hydra folders, e.g. tune/)
GROUPS = sorted(next(iter(d)) for d in OmegaConf.load(CONF / "config.yaml").defaults
                if isinstance(d, dict) or OmegaConf.is_dict(d)
                if next(iter(d)) != "hydra" and (CONF / next(iter(d))).is_dir())
HYDRA_GROUPS = sorted(p.name for p in (CONF / "hydra").iterdir() if p.is_dir())


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


ALL = [(g, o) for g in GROUPS for o in options(g)]


def _compose(overrides: list[str], hydra_cfg: bool = False):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=hydra_cfg)


def _plain(cfg) -> dict:
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    return hc.to_plain(cfg)


def test_groups_are_discovered():
    for group in ("model", "sampler", "dataset", "debug"):
        assert group in GROUPS
    assert {"tiny", "qwen0.5b", "qwen1.5b", "llama3.2-1b", "gpt2", "smollm2-135m",
            "smollm2-135m-hub", "gemma3-270m", "qwen2.5-coder-0.5b"} <= set(options("model"))
    assert {"heldout", "open_prompts", "arithmetic", "wikitext103", "writingprompts", "gsm8k"} <= set(
        options("dataset"))


@pytest.mark.parametrize(("group", "option"), ALL, ids=[f"{g}={o}" for g, o in ALL])
def test_every_option_composes_and_validates(group, option, tmp_path):
    cfg = _compose([f"{group}={option}", f"output_dir={tmp_path}"])
    c = _plain(cfg)
    run = hc.settings(c)
    hc.build_sampler(c["sampler"])  # the registry validates every parameter
    kw = hc.model_kwargs(c["model"], run, fetch=False)  # a `source:` option: its cache folder
    assert kw["name_or_path"]
    hc.dataset_kwargs(c["dataset"], run)
    spec = hc.experiment_spec(c, run)
    assert spec.evaluation["headline"] in spec.evaluation["metrics"]


@pytest.mark.parametrize("group", HYDRA_GROUPS)
def test_hydra_launcher_and_sweeper_presets_compose(group):
    for option in options(f"hydra/{group}"):
        cfg = _compose([f"hydra/{group}={option}", "output_dir=/tmp/x"], hydra_cfg=True)
        assert cfg.hydra[group]._target_, option


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local", "submitit_slurm"])
def test_plugin_launchers_compose(launcher):
    cfg = _compose([f"hydra/launcher={launcher}", "output_dir=/tmp/x"], hydra_cfg=True)
    assert launcher.split("_")[0] in cfg.hydra.launcher._target_.lower()


def test_sampler_yamls_list_every_samplerconfig_field():
    from alpha.config import SamplerConfig

    keys = set(OmegaConf.load(CONF / "sampler" / "alpha.yaml")) - {"name", "search_space"}
    assert keys == set(SamplerConfig.field_names())
    for option in ("alpha_seed", "alpha_lexical"):  # they inherit it: every field composes
        c = _plain(_compose([f"sampler={option}", "output_dir=/tmp/x"]))["sampler"]
        assert set(c) - {"name", "search_space"} == set(SamplerConfig.field_names()), option


def test_alpha_lexical_is_alpha_with_the_lexical_scope():
    alpha = _plain(_compose(["sampler=alpha", "output_dir=/tmp/x"]))["sampler"]
    lexical = _plain(_compose(["sampler=alpha_lexical", "output_dir=/tmp/x"]))["sampler"]
    assert lexical == {**alpha, "name": "alpha_lexical", "rep_penalty_scope": "lexical"}
    assert alpha["rep_penalty_scope"] == "all"


def test_debug_shrinks_the_run():
    c = _plain(_compose(["debug=default", "output_dir=/tmp/x"]))
    assert c["num_prompts"] == 4 and c["max_new_tokens"] == 16
    assert c["model"]["path"] == "models/tiny-shakespeare"
    assert c["logger"]["type"] == "none"  # the NullLogger (built by name, alpha/runner/loggers.py)


def test_bundled_paths_resolve_to_the_repo_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = _plain(_compose([f"output_dir={tmp_path}"]))
    kw = hc.dataset_kwargs(c["dataset"], hc.settings(c))
    assert Path(kw["path_or_name"]) == CONF.parent / "data" / "heldout_passages.jsonl"
    (tmp_path / "data").mkdir()  # a folder of the same name in the current directory wins
    (tmp_path / "data" / "heldout_passages.jsonl").write_text("{}")
    kw = hc.dataset_kwargs(c["dataset"], hc.settings(c))
    assert Path(kw["path_or_name"]).resolve() == tmp_path / "data" / "heldout_passages.jsonl"


# Bad values are refused at start-up, with a line naming the field.
@pytest.mark.parametrize(("override", "needle"), [
    ("sampler.temp_min=2", "temp_min=2"),
    ("sampler.alpha_window_size=0", "alpha_window_size=0"),
    ("sampler.solver=newton", "solver='newton'"),
    ("batch_size=0", "batch_size=0"),
    ("max_new_tokens=-1", "max_new_tokens=-1"),
    ("num_prompts=0", "num_prompts=0"),
    ("device=tpu", "device='tpu'"),
    ("dtype=float8", "dtype='float8'"),
    ("cpu_threads=0", "cpu_threads=0"),
    ("compile_sampler=maybe", "compile_sampler='maybe'"),
    ("prefix_cache=maybe", "prefix_cache='maybe'"),
    ("model.trust_remote_code=true", "trust_remote_code"),
])
def test_bad_values_name_the_field(override, needle):
    c = _plain(_compose([override, "output_dir=/tmp/x"]))
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        run = hc.settings(c)
        hc.build_sampler(c["sampler"])
        hc.model_kwargs(c["model"], run)


def test_prefix_cache_switch_reaches_generate(monkeypatch, tmp_path):
    """config.yaml's prefix_cache (default true) -> RunSettings -> ExperimentSpec ->
    alpha.generate(prefix_cache=...)."""
    import alpha.generation
    from alpha.runner.experiment import _engine

    seen = {}

    def stop(*args, **kw):
        seen.update(kw)
        raise RuntimeError("stop here")

    monkeypatch.setattr(alpha.generation, "generate", stop)
    for overrides, want in [([], True), (["prefix_cache=false"], False)]:
        c = _plain(_compose([*overrides, f"output_dir={tmp_path}"]))
        spec = hc.experiment_spec(c, hc.settings(c))
        with pytest.raises(RuntimeError, match="stop here"):
            _engine(None, None, None, spec, tmp_path / "timing.jsonl")([{"prompt": "x", "index": 0}])
        assert seen["prefix_cache"] is want


def test_typo_key_is_refused_by_hydra():
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="base_tmp"):
        _compose(["sampler.base_tmp=0.3"])


def test_appended_unknown_key_is_refused_by_the_sampler():
    c = _plain(_compose(["+sampler.base_tmp=0.3", "output_dir=/tmp/x"]))
    with pytest.raises(ValueError, match="base_tmp"):
        hc.build_sampler(c["sampler"])


def test_hub_style_dataset_through_load_dataset(tmp_path):
    """The hub path (load_dataset + field mapping + 32/256-style token prefixes + split + limit)
    on a local JSON file read by datasets' own "json" builder."""
    from transformers import AutoTokenizer

    from tests.conftest import ASSETS

    tok = AutoTokenizer.from_pretrained(ASSETS / "tokenizer")
    paragraphs = [" = Heading = ", "", "short one"] + [
        f"Paragraph {i}: the king rode out at dawn and the queen watched from the tower " * 3
        for i in range(4)]
    (tmp_path / "wiki.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in paragraphs))
    ckpt = tmp_path / "ckpt"
    tok.save_pretrained(ckpt)
    c = _plain(_compose(["dataset=wikitext103", "dataset.name=json", "dataset.subset=null",
                         "dataset.hub_split=train", f"dataset.data_files={tmp_path / 'wiki.jsonl'}",
                         "dataset.prefix_tokens=8", "dataset.continuation_tokens=16",
                         "dataset.split=test", "dataset.dev_size=1", "num_prompts=2",
                         f"model.path={ckpt}", f"output_dir={tmp_path}"]))
    records = hc.load_records(c["dataset"], hc.settings(c), c["model"])
    assert [r["index"] for r in records] == [1, 2]  # heading, blank, short dropped; dev row 0 skipped
    for r, text in zip(records, paragraphs[4:6], strict=True):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert r["prompt"] == tok.decode(ids[:8]) and r["reference"] == tok.decode(ids[8:24])
    with pytest.raises(ValueError, match="no field 'question'.*dataset.prompt_field"):
        bad = {**c["dataset"], "prefix_tokens": None, "prompt_field": "question"}
        hc.load_records(bad, hc.settings(c), c["model"])


def test_study_3_keeps_rescored_perplexity_its_folders_and_fingerprint():
    """experiments/ablations_real/run.sh pins perplexity_source=rescore (its finished runs used
    it); the key must change neither the sweep's folder names nor the resume fingerprint, or
    every finished run would be redone. New runs of evaluation=default read the generation's
    log-probs."""
    import re
    import shlex

    script = (CONF.parent / "experiments" / "ablations_real" / "run.sh").read_text()
    common = shlex.split(re.search(r"^COMMON=\((.*?)\)", script, re.S | re.M).group(1),
                         comments=True)
    common = [o for o in common if not o.startswith(("seed=", "hydra."))]  # shell-expanded / Hydra's
    pin = "evaluation.options.perplexity_source=rescore"
    assert pin in common
    before = [o for o in common if o != pin] + ["experiment=window_size", "seed=1",
                                                "sampler.alpha_window_size=2", "output_dir=/x"]
    old, new = (_compose(o, hydra_cfg=True) for o in (before, [*before, pin]))
    assert new.hydra.job.override_dirname == old.hydra.job.override_dirname
    assert "bootstrap_samples=0" in new.hydra.job.override_dirname  # options are in names
    old, new = _plain(old), _plain(new)
    assert old["evaluation"]["options"]["perplexity_source"] == "generation"  # default.yaml
    assert new["evaluation"]["options"]["perplexity_source"] == "rescore"
    assert hc.fingerprint(new) == hc.fingerprint(old)


def test_the_runner_and_the_library_share_one_operating_point():
    """conf/sampler/alpha.yaml states SamplerConfig()'s defaults exactly; alpha_seed inherits
    alpha and states only its differences, the original's base values among them."""
    from alpha.config import ORIGINAL_BASE, SamplerConfig

    alpha = OmegaConf.to_container(OmegaConf.load(CONF / "sampler" / "alpha.yaml"))
    defaults = SamplerConfig().to_dict()
    assert {k: v for k, v in alpha.items() if k not in ("name", "search_space")} == defaults
    seed_file = OmegaConf.to_container(OmegaConf.load(CONF / "sampler" / "alpha_seed.yaml"))
    assert seed_file["defaults"][0] == "alpha"
    own = set(seed_file) - {"defaults", "name", "search_space"}
    assert own == {"solver", *ORIGINAL_BASE} - {"base_rep_penalty"}  # 1.0 in both
    seed = _plain(_compose(["sampler=alpha_seed", "output_dir=/tmp/x"]))["sampler"]
    assert {k: seed[k] for k in ORIGINAL_BASE} == ORIGINAL_BASE
    assert SamplerConfig.original().to_dict() == {**defaults, **ORIGINAL_BASE}


@pytest.mark.parametrize(("metrics", "options", "loaded"), [
    ("[coherence,rep_2]", [], False),  # nothing reads the oracle: not loaded, not fetched
    ("[coherence,oracle_perplexity]", [], True),
    ("[coherence_ll]", [], True),
    ("[mauve]", ["evaluation.options.mauve_feature_model=oracle"], True),
    ("[mauve]", ["evaluation.options.mauve_feature_model=minilm"], False),
], ids=["unused", "oracle-perplexity", "coherence-ll", "mauve-on-oracle", "mauve-on-minilm"])
def test_the_oracle_is_loaded_only_when_a_metric_reads_it(tmp_path, metrics, options, loaded):
    c = _plain(_compose(["evaluation=full", "evaluation.oracle=tiny",
                         f"evaluation.metrics={metrics}", *options, f"output_dir={tmp_path}"]))
    kw = hc.oracle_kwargs(c, hc.settings(c))
    assert (kw is not None) == loaded
    if loaded:
        assert kw["name_or_path"] == hc.model_kwargs(_plain(_compose(
            ["model=tiny", f"output_dir={tmp_path}"]))["model"], hc.settings(c))["name_or_path"]


def test_a_misspelt_oracle_fails_even_when_unused(tmp_path):
    c = _plain(_compose(["evaluation=full", "evaluation.oracle=tinny",
                         "evaluation.metrics=[rep_2]", f"output_dir={tmp_path}"]))
    with pytest.raises(ValueError, match="evaluation.oracle='tinny' is not a model option"):
        hc.oracle_kwargs(c, hc.settings(c))
