"""plot_traces (alpha/runner/plots.py, behind scripts/plot_traces.py) on synthetic run folders: PNGs written, non-empty and decodable;
plotted line data equal to the traces in generations.jsonl; sweep points equal to
statistics.mean/stdev of the runs' metrics.json; the HTML view's text equals the tokenizer's own
decode of the token ids. Bad inputs tried: a folder without generations.jsonl, a malformed
line, an unknown prompt index, a record without traces, a sweep key that was not swept, a
metric no run has."""

from __future__ import annotations

import json
import math
import statistics
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import pytest

ROOT = Path(__file__).resolve().parents[1]
from test_tables import VALUES, make_run  # noqa: E402

from alpha.runner import plots as pt  # noqa: E402


def _record(index, ids, steps):
    trace = {k: [0.1 * ((t + j) % 7) for t in range(steps)] for j, k in
             enumerate(("alpha", "alpha_mean", "h_tok", "vh_tok", "h_attn", "vh_attn",
                        "final_entropy", "top_p"))}
    trace["temperature"] = [0.1 + 0.05 * t for t in range(steps)]
    trace["top_k"] = [float(5 + t) for t in range(steps)]
    trace["rep_penalty"] = [1.1] * steps
    trace["candidate_size"] = [float(20 - t) for t in range(steps)]
    return {"index": index, "prompt": f"prompt {index}", "text": "", "token_ids": ids,
            "num_tokens": len(ids), "finish_reason": "length", "trace": trace, "metrics": {}}


@pytest.fixture
def run_dir(tmp_path, tiny_tokenizer):
    ids = tiny_tokenizer("the quick brown fox, café naïve")["input_ids"]
    recs = [_record(0, ids, len(ids)), _record(1, ids[:3], 3)]
    (tmp_path / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return tmp_path


def _is_png(path):
    image = mpimg.imread(path)
    return path.stat().st_size > 5000 and image.ndim == 3 and image.shape[0] > 100


def test_trace_figure_lines_equal_trace(run_dir, monkeypatch):
    rec = pt.load_records(run_dir)[0]
    saved = {}
    real_close = pt.plt.close
    monkeypatch.setattr(pt.plt, "close", lambda fig: saved.setdefault("fig", fig))
    out = pt.plot_record_traces(rec, run_dir / "t.png", target_scale=0.5)
    real_close(saved["fig"])
    assert _is_png(out)
    axes = saved["fig"].axes
    assert len(axes) == 1 + 5  # alpha terms + one panel per parameter
    lines = {ln.get_label(): list(ln.get_ydata()) for ax in axes for ln in ax.get_lines()}
    for key in ("alpha", "h_attn", "final_entropy", "temperature", "top_k", "candidate_size"):
        assert lines[key] == rec["trace"][key]
    assert lines["target = 0.5 x alpha_mean"] == [0.5 * a for a in rec["trace"]["alpha_mean"]]


def test_cli_traces_temperature_and_html(run_dir, tiny_tokenizer, capsys):
    out = run_dir / "figs"
    assert pt.main(["traces", str(run_dir), "--prompts", "0,1", "--out", str(out)]) == 0
    assert _is_png(out / "trace_prompt_0.png") and _is_png(out / "trace_prompt_1.png")
    assert pt.main(["temperature", str(run_dir), "--out", str(out)]) == 0
    assert _is_png(out / "temperature_vs_entropy.png")
    tok_dir = str(ROOT / "tests/assets/tokenizer")
    assert pt.main(["html", str(run_dir), "--out", str(out), "--tokenizer", tok_dir]) == 0


def test_temperature_pairs(run_dir):
    recs = pt.load_records(run_dir)
    xs, ys = pt.temperature_vs_entropy(recs)
    assert xs == recs[0]["trace"]["h_tok"] + recs[1]["trace"]["h_tok"]
    assert ys == recs[0]["trace"]["temperature"] + recs[1]["trace"]["temperature"]


class _Spans(HTMLParser):
    def __init__(self):
        super().__init__()
        self.spans, self.opacity, self._in = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "span":
            self._in = True
            self.spans.append("")
            style = dict(attrs)["style"]
            self.opacity.append(float(style.split(",")[-1].rstrip(")")))

    def handle_endtag(self, tag):
        self._in = False if tag == "span" else self._in

    def handle_data(self, data):
        if self._in:
            self.spans[-1] += data


def test_html_text_equals_tokenizer_decode(run_dir, tiny_tokenizer):
    rec = pt.load_records(run_dir)[0]
    parser = _Spans()
    parser.feed(pt.html_view(rec, tiny_tokenizer))
    assert len(parser.spans) == len(rec["token_ids"])
    assert "".join(parser.spans) == tiny_tokenizer.decode(rec["token_ids"])
    alphas = rec["trace"]["alpha"]
    lo, hi = min(alphas), max(alphas)  # lowest alpha -> 0.1, highest -> 1.0, linear between
    assert parser.opacity == [pytest.approx(0.1 + 0.9 * (a - lo) / (hi - lo), abs=1e-3)
                              for a in alphas]


def test_sweep_points_equal_metrics_json(tmp_path):
    sweep = tmp_path / "sweep"
    for num, ((w, s), (_d2, r2, tps)) in enumerate(VALUES.items()):
        make_run(sweep, num, {"sampler.alpha_window_size": w, "seed": s},
                 {"rep_2": (r2, False), "tokens_per_s": (tps, True)})
    points = pt.sweep_points([str(sweep)], "sampler.alpha_window_size", "rep_2")
    for (value, mean, std, n), w in zip(points, (1, 10), strict=True):
        vals = [VALUES[(w, s)][1] for s in range(3)]
        assert value == str(w) and n == 3
        assert mean == pytest.approx(statistics.mean(vals)) and std == pytest.approx(
            statistics.stdev(vals))
    out = pt.plot_sweep([str(sweep)], "sampler.alpha_window_size", "rep_2", tmp_path / "s.png")
    assert _is_png(out)
    hue = pt.sweep_points([str(sweep)], "sampler.alpha_window_size", "rep_2",
                          where={"seed": "1"})  # one line of a hue: seed 1 only
    assert [(v, m, n) for v, m, _, n in hue] == [("1", 14.0, 1), ("10", 9.0, 1)]
    out = pt.plot_sweep([str(sweep)], "sampler.alpha_window_size", "rep_2", tmp_path / "h.png",
                        hue="seed")
    assert _is_png(out)


def test_bad_inputs(tmp_path, run_dir, capsys):
    assert pt.main(["traces", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "generations.jsonl does not exist" in capsys.readouterr().err
    assert pt.main(["traces", str(run_dir), "--prompts", "7", "--out", str(tmp_path)]) == 2
    assert "--prompts [7] not in this run" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "generations.jsonl").write_text('{"index": 0}\n{oops\n')
    assert pt.main(["traces", str(bad), "--out", str(tmp_path)]) == 2
    assert "generations.jsonl:2 is not valid JSON" in capsys.readouterr().err
    with pytest.raises(ValueError, match="has no trace to plot"):
        pt.plot_record_traces({"index": 3, "trace": {}}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="needs the adaptive sampler"):
        pt.temperature_vs_entropy([{"trace": {"top_p": [0.9]}}])
    sweep = tmp_path / "sw"
    make_run(sweep, 0, {"sampler.alpha_window_size": 1, "seed": 0}, {"rep_2": (1.0, False)})
    with pytest.raises(ValueError, match="--key 'sampler.top_k' is not an override"):
        pt.sweep_points([str(sweep)], "sampler.top_k", "rep_2")
    with pytest.raises(ValueError, match="--metric 'mauve' is in no complete run"):
        pt.sweep_points([str(sweep)], "sampler.alpha_window_size", "mauve")
    assert math.isnan(pt.sweep_points([str(sweep)], "sampler.alpha_window_size", "rep_2")[0][2])
