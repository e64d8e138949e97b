"""The registered metrics as Hugging Face `evaluate` modules, for use outside this framework.

Each folder is one module that `evaluate.load` reads from its path; each is a thin wrapper over
`alpha.evaluation.evaluate_records`, so the numbers are the runner's. No run uses them, and this
is the only place (with its tests) that imports `evaluate`:

    >>> import evaluate
    >>> from alpha.evaluation.hf_evaluate import module_path
    >>> evaluate.load(module_path("repetition")).compute(predictions=["a b a b a"])  # doctest: +SKIP
"""

from pathlib import Path

MODULES = ("answer_accuracy", "coherence", "distinct_n", "mauve_score", "perplexity",
           "repetition", "self_bleu", "zipf")


def module_path(name: str) -> str:
    """The folder `evaluate.load` takes for module `name` (one of MODULES)."""
    if name not in MODULES:
        raise ValueError(f"evaluate module {name!r} is unknown; choose one of {list(MODULES)}")
    return str(Path(__file__).resolve().parent / name)
