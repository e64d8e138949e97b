"""Benchmark the generation engine: three ratios, each measured against its baseline in one process.

1. throughput: batch B (16), N (256) new tokens per row. Tokens/s of Hugging Face
   `generate(do_sample=True, top_k=50, top_p=0.9)`, of `alpha.generate` with a plain
   top-k 50 / top-p 0.9 sampler (HF warpers, per-row generators), and of `alpha.generate` with
   the adaptive sampler. Targets: adaptive >= 0.8x HF; on GPU adaptive >= 0.9x plain.
2. batch1: batch 1, N new tokens: `alpha.generate` vs the original's loop (no cache, the whole
   prefix re-run each step with eager attention and `output_attentions=True`), both with the
   adaptive sampler (and both with the plain sampler, isolating the engine). Target >= 10x.
3. memory: one P-token (4096) prompt, peak memory of the prefill: plain SDPA, SDPA with the
   attention capture (target <= 1.2x plain), and eager `output_attentions=True` (the original).

The model comes from `--model-path` (a save_pretrained folder) or `--config` (a config JSON of a
real architecture, random-initialised; throughput does not depend on trained weights).

    python scripts/bench/benchmark.py --config scripts/configs/bench-cpu-small.json --threads 1
    python scripts/bench/benchmark.py --config scripts/configs/qwen2.5-0.5b.json --device cuda \
        --dtype bfloat16 --batch 64
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]

import alpha  # noqa: E402  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from alpha.attention_capture import AttentionCapture  # noqa: E402
from alpha.protocol import SamplerStep  # noqa: E402
from alpha.runner import timing  # noqa: E402
from alpha.sampler import AdaptiveEntropixSampler  # noqa: E402

PROMPTS = [
    "Once upon a time", "The meaning of life is", "To be, or not to be:", "In the beginning",
    "The quick brown fox", "My lord, I pray you", "It was a dark and stormy night",
    "First Citizen: Before we proceed", "Call me Ishmael.", "The king is dead,",
    "Romeo, Romeo, wherefore", "Friends, Romans, countrymen", "A horse! a horse!",
    "Now is the winter", "What light through yonder", "All the world's a stage",
]


class PlainSampler:
    """Top-k 50 then top-p 0.9 with HF's warpers, one generator per row (the engine contract)."""

    needs_attention = False

    def __init__(self, top_k: int = 50, top_p: float = 0.9):
        self.warpers = [TopKLogitsWarper(top_k), TopPLogitsWarper(top_p)]

    def reset(self, batch_size):
        pass

    def select_rows(self, index):
        pass

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        for w in self.warpers:
            logits = w(input_ids, logits)
        probs = torch.softmax(logits, -1)  # (B, V)
        tokens = torch.cat([torch.multinomial(probs[i], 1, generator=g)
                            for i, g in enumerate(generators)])
        return SamplerStep(tokens, {})


# ---------------------------------------------------------------- setup


def load(args):
    dtype = getattr(torch, args.dtype)
    if args.model_path:
        tok = AutoTokenizer.from_pretrained(args.model_path)
        model = AutoModelForCausalLM.from_pretrained(args.model_path, dtype=dtype,
                                                     attn_implementation="sdpa").to(args.device)
    else:
        tok = AutoTokenizer.from_pretrained(ROOT / "tests" / "assets" / "tokenizer")
        cfg = json.loads(Path(args.config).read_text())
        cfg.pop("architectures", None)
        config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
        torch.manual_seed(args.seed)
        with torch.device(args.device):
            model = AutoModelForCausalLM.from_config(config, dtype=dtype,
                                                     attn_implementation="sdpa")
        model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model.eval(), tok


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_times(fns: dict, repeats: int, device) -> dict:
    """Median of `repeats` runs of each fn, interleaved in rotating order so that a change in
    machine load hits every variant alike (alpha/runner/timing.py; callers warm up first)."""
    rows = timing.interleaved(fns, repeats=repeats, warmup=0,
                              sync=(lambda: sync(device)) if device.startswith("cuda") else None)
    return {r.name: r.median for r in rows}


# ---------------------------------------------------------------- 1. throughput


def throughput(model, tok, args) -> dict:
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.batch)]
    n = args.new_tokens
    enc = tok(prompts, return_tensors="pt", padding=True).to(args.device)

    def hf(k, cache="dynamic"):
        extra = {} if cache == "dynamic" else {"cache_implementation": cache}
        return model.generate(**enc, do_sample=True, top_k=50, top_p=0.9, temperature=1.0,
                              max_new_tokens=k, min_new_tokens=k, **extra)

    def ours(sampler, k, cache="dynamic", compile_decode=False):
        return alpha.generate(model, tok, prompts, sampler=sampler, max_new_tokens=k,
                              seed=args.seed, ignore_eos=True, cache_implementation=cache,
                              compile_decode=compile_decode)

    fns = {"hf_generate": lambda: hf(n), "engine_plain": lambda: ours(PlainSampler(), n),
           "engine_adaptive": lambda: ours(AdaptiveEntropixSampler(), n)}
    if args.compile:
        fns["engine_adaptive_compiled"] = lambda: ours(compiled_sampler(), n)
    if args.static:  # transformers' StaticCache in HF generate and in the engine
        fns["hf_generate_static"] = lambda: hf(n, "static")
        fns["engine_plain_static"] = lambda: ours(PlainSampler(), n, "static")
        fns["engine_adaptive_static"] = lambda: ours(AdaptiveEntropixSampler(), n, "static")
        hf(4, "static"), ours(PlainSampler(), 4, "static")  # warm-up
    if args.static and args.compile:  # the whole decode step compiled: forward (CUDA graphs on
        # a GPU) + the compiled sampler step
        mode = ({"mode": "reduce-overhead", "dynamic": False} if args.device.startswith("cuda")
                else True)
        fns["engine_adaptive_static_compiled"] = lambda: ours(compiled_sampler(), n, "static",
                                                              mode)
        res_compile = warm_compiled(lambda: ours(compiled_sampler(), 4, "static", mode))
    hf(4), ours(PlainSampler(), 4), ours(AdaptiveEntropixSampler(), 4)  # warm-up
    res = {"batch": args.batch, "new_tokens": n, "repeats": args.repeats}
    if args.compile:
        res["compile_s"] = warm_compiled(lambda: ours(compiled_sampler(), 4))
    t = median_times(fns, args.repeats, args.device)
    tok_s = {k: args.batch * n / v for k, v in t.items()}
    res.update({"tokens_per_s": tok_s,
                "adaptive_vs_hf": tok_s["engine_adaptive"] / tok_s["hf_generate"],
                "plain_vs_hf": tok_s["engine_plain"] / tok_s["hf_generate"],
                "adaptive_vs_plain": tok_s["engine_adaptive"] / tok_s["engine_plain"]})
    if args.compile:
        res["compiled_vs_hf"] = tok_s["engine_adaptive_compiled"] / tok_s["hf_generate"]
        res["compiled_vs_plain"] = tok_s["engine_adaptive_compiled"] / tok_s["engine_plain"]
    if args.static and args.compile:
        res["compile_decode_s"] = res_compile
        res["static_compiled_vs_plain"] = (tok_s["engine_adaptive_static_compiled"]
                                           / tok_s["engine_plain"])
        res["static_compiled_vs_hf_static"] = (tok_s["engine_adaptive_static_compiled"]
                                               / tok_s["hf_generate_static"])
    if args.static:
        res["adaptive_static_vs_dynamic"] = (tok_s["engine_adaptive_static"]
                                             / tok_s["engine_adaptive"])
        res["adaptive_static_vs_hf_static"] = (tok_s["engine_adaptive_static"]
                                               / tok_s["hf_generate_static"])
        res["hf_static_vs_dynamic"] = tok_s["hf_generate_static"] / tok_s["hf_generate"]
    res["peak_mib"] = (torch.cuda.max_memory_allocated() / 2**20
                       if args.device.startswith("cuda") else None)
    return res


def compiled_sampler():
    return AdaptiveEntropixSampler(compile=True)


def warm_compiled(fn) -> float:
    """Run once to compile (timed: the one-off cost a run pays), return seconds."""
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 1)


# ---------------------------------------------------------------- 2. batch 1 vs the original loop


@torch.no_grad()
def _forward_eager(model, ids):
    out = model(ids, output_attentions=True, use_cache=False)  # every layer's (1, H, T, T)
    return out.logits[:, -1, :].float(), out.attentions[-1][:, :, -1, :].float()


def original_loop(model, tok, prompt, sampler, n, seed) -> int:
    """The original's decode: no cache, full prefix each step, eager + output_attentions."""
    ids = tok([prompt], return_tensors="pt")["input_ids"].to(model.device)
    gens = alpha.generation.row_generators(seed, [0], model.device)
    sampler.reset(1)
    orig_impl = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        for _ in range(n):
            logits, att = _forward_eager(model, ids)
            step = sampler.step(logits, ids, attention=att,
                                key_mask=torch.ones_like(ids, dtype=torch.bool), generators=gens)
            ids = torch.cat([ids, step.tokens.reshape(1, 1).to(ids.device)], 1)
    finally:
        model.set_attn_implementation(orig_impl)
    return n


def batch1_prompt(tok, n_tokens: int) -> str:
    """PROMPTS[0], or (n_tokens > 0) text of about n_tokens tokens made from all the prompts."""
    if n_tokens <= 0:
        return PROMPTS[0]
    text = " ".join(PROMPTS)
    while len(tok(text)["input_ids"]) < n_tokens:
        text = f"{text} {text}"
    return tok.decode(tok(text)["input_ids"][:n_tokens], skip_special_tokens=True)


def batch1(model, tok, args) -> dict:
    n, prompt = args.batch1_tokens, batch1_prompt(tok, args.batch1_prompt_tokens)
    res = {"new_tokens": n, "prompt_tokens": len(tok(prompt)["input_ids"]),
           "repeats": args.repeats}
    samplers = [("adaptive", AdaptiveEntropixSampler), ("plain", PlainSampler)]
    if args.compile:
        samplers.append(("adaptive_compiled", compiled_sampler))
    for name, make in [s for s in samplers if s[0] in args.batch1_samplers.split(",")]:
        def ours(k, make=make):
            return alpha.generate(model, tok, [prompt], sampler=make(), max_new_tokens=k,
                                  seed=args.seed, ignore_eos=True)

        def orig(k, make=make):
            return original_loop(model, tok, prompt, make(), k, args.seed)

        if name == "adaptive_compiled":
            res["compile_s"] = warm_compiled(lambda: ours(4))
        ours(4), orig(4)  # warm-up
        t = median_times({"engine": lambda: ours(n), "original": lambda: orig(n)}, args.repeats,
                         args.device)
        res[name] = {"engine_tokens_per_s": n / t["engine"],
                     "original_loop_tokens_per_s": n / t["original"],
                     "speedup": t["original"] / t["engine"]}
    return res


# ---------------------------------------------------------------- 3. prefill peak memory


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_mib(fn, device) -> float:
    """Peak memory above the level before `fn` (CUDA allocator, or process RSS on CPU)."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = fn()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        base = _rss_kib("VmRSS") * 1024
        out = fn()
        peak = _rss_kib("VmHWM") * 1024 - base
    del out
    return peak / 2**20


def memory(model, tok, args) -> dict:
    g = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(2, len(tok), (1, args.prefill_tokens), generator=g).to(args.device)

    @torch.no_grad()
    def prefill():
        out = model(ids, cache=DynamicCache(config=model.config), use_cache=True,
                    logits_to_keep=1)
        return out.logits

    def capture():
        with AttentionCapture(model) as cap:
            logits = prefill()
            return logits, cap.read()

    @torch.no_grad()
    def eager():
        return model(ids, output_attentions=True, use_cache=False)  # the original's call

    prefill()  # warm-up
    res = {"prompt_tokens": args.prefill_tokens, "plain_sdpa_mib": peak_mib(prefill, args.device),
           "capture_mib": peak_mib(capture, args.device)}
    orig = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        res["eager_output_attentions_mib"] = peak_mib(eager, args.device)
    except (RuntimeError, MemoryError) as err:  # e.g. CUDA OOM: report, do not crash
        res["eager_output_attentions_mib"] = f"failed: {str(err)[:80]}"
    finally:
        model.set_attn_implementation(orig)
    res["capture_vs_plain"] = res["capture_mib"] / max(res["plain_sdpa_mib"], 1e-9)
    return res


MMAP_ENV = "MALLOC_MMAP_THRESHOLD_"


def memory_in_child(argv: list[str]) -> dict:
    """The memory section on CPU, in a child process whose glibc serves every allocation
    >= 64 KiB by mmap and unmaps it on free, so process RSS (the CPU peak-memory measure) tracks
    live tensors instead of the allocator's cache. Only this section runs that way: the setting
    makes every large allocation a system call, which would slow the timed sections (by 1.5x
    for the adaptive sampler's many temporaries in an earlier version of this script)."""
    rest, skip = [], False
    for a in argv:  # drop --sections / --json (and their values); the child runs memory only
        if skip:
            skip = False
        elif a in ("--sections", "--json"):
            skip = True
        elif not a.startswith(("--sections=", "--json=")):
            rest.append(a)
    out = subprocess.run([sys.executable, __file__, *rest, "--sections", "memory"],
                         env={**os.environ, MMAP_ENV: "65536"}, capture_output=True, text=True,
                         check=False)
    if out.returncode:
        raise SystemExit(f"error: the memory section failed in its child process:\n"
                         f"{out.stderr.strip()[-2000:]}")
    for line in out.stdout.splitlines():
        if line.startswith('{"memory"'):
            return json.loads(line)["memory"]
    raise SystemExit(f"error: the memory child printed no result:\n{out.stdout[-2000:]}")


# ---------------------------------------------------------------- main


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"{torch.get_num_threads()} torch threads)"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model-path", help="save_pretrained folder (model + tokenizer)")
    src.add_argument("--config", help="config JSON of a real architecture (random init)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--batch1-tokens", type=int, default=256)
    p.add_argument("--batch1-prompt-tokens", type=int, default=0,
                   help="batch1 prompt length in tokens (0: the short PROMPTS[0]); the original "
                        "loop's cost grows with it, the engine's does not")
    p.add_argument("--batch1-samplers", default="adaptive,plain,adaptive_compiled",
                   help="which samplers the batch1 section times (comma-separated; adaptive_compiled "
                        "only with --compile)")
    p.add_argument("--compile", action="store_true",
                   help="also time the adaptive sampler with its compiled step (compile_sampler)")
    p.add_argument("--static", action="store_true",
                   help="also time HF generate and the engine with a static KV cache")
    p.add_argument("--prefill-tokens", type=int, default=4096)
    p.add_argument("--sections", default="throughput,batch1,memory")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1,
                   help="time each variant this many times, interleaved, and keep the median")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {args.device} but no CUDA device is visible; "
                         "run with --device cpu (the GPU sections need a CUDA machine)")
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load(args)
    n_params = sum(x.numel() for x in model.parameters())
    results = {"device": device_name(args.device), "dtype": args.dtype,
               "model": args.model_path or args.config, "params_m": n_params / 1e6,
               "load": timing.load(),
               "command": "python scripts/bench/benchmark.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    print(json.dumps(results), flush=True)
    for name in args.sections.split(","):
        t0 = time.perf_counter()
        if name == "memory" and args.device == "cpu" and MMAP_ENV not in os.environ:
            results[name] = memory_in_child(argv if argv is not None else sys.argv[1:])
        else:
            results[name] = {"throughput": throughput, "batch1": batch1, "memory": memory}[name](
                model, tok, args)
        print(json.dumps({name: results[name], "section_s": round(time.perf_counter() - t0, 1)}),
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
