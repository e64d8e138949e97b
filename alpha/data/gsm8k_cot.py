"""GSM8K chain-of-thought prompting and scoring, as lm-evaluation-harness's `gsm8k_cot` task.

Prompt: the 8 standard exemplars of Wei et al. 2022 ("Chain-of-thought prompting elicits
reasoning in large language models", Table 20), in the harness's "Q: ...\\nA: ..." format,
joined by blank lines, then the test question and "A:". Generation stops at "Q:", "</s>",
"<|im_end|>" (the harness's `until`), greedy.

Scoring, both of the harness's filters followed by its `exact_match` normalisation:
  strict-match      first "The answer is N." in the completion
  flexible-extract  the last number-like span in the completion
then, on prediction and target alike: drop ",", "$", everything up to "#### ", a final ".",
and lower-case. The target is the text after "####" in GSM8K's answer field.

Source: lm_eval/tasks/gsm8k/gsm8k-cot.yaml (task version 3.0), gsm8k-cot-zeroshot.yaml,
lm_eval/filters/extraction.py (RegexFilter) and lm_eval/api/metrics.py
(exact_match_hf_evaluate). Pure functions: no model, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# (question, target) pairs, verbatim from gsm8k-cot.yaml's fewshot_config.samples
EXEMPLARS: tuple[tuple[str, str], ...] = (
    ("There are 15 trees in the grove. Grove workers will plant trees in the grove today. After "
     "they are done, there will be 21 trees. How many trees did the grove workers plant today?",
     "There are 15 trees originally. Then there were 21 trees after some more were planted. So "
     "there must have been 21 - 15 = 6. The answer is 6."),
    ("If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the "
     "parking lot?",
     "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5."),
    ("Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have "
     "left in total?",
     "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. "
     "After eating 35, they had 74 - 35 = 39. The answer is 39."),
    ("Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many "
     "lollipops did Jason give to Denny?",
     "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave "
     "Denny 20 - 12 = 8. The answer is 8."),
    ("Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many "
     "toys does he have now?",
     "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more "
     "toys. 5 + 4 = 9. The answer is 9."),
    ("There were nine computers in the server room. Five more computers were installed each "
     "day, from monday to thursday. How many computers are now in the server room?",
     "There were originally 9 computers. For each of 4 days, 5 more computers were added. So "
     "5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29."),
    ("Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 "
     "more. How many golf balls did he have at the end of wednesday?",
     "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. "
     "After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33."),
    ("Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
     "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has "
     "23 - 15 dollars left. 23 - 15 is 8. The answer is 8."),
)

STOP_STRINGS: tuple[str, ...] = ("Q:", "</s>", "<|im_end|>")  # generation_kwargs.until
FEWSHOT_DELIMITER = "\n\n"  # harness defaults (ContextSampler)
TARGET_DELIMITER = " "
STRICT_REGEX = r"The answer is (\-?[0-9\.\,]+)."  # strict-match, group_select 0 (first)
FLEXIBLE_REGEX = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"  # flexible-extract, group_select -1 (last)
IGNORE_REGEXES: tuple[str, ...] = (",", r"\$", "(?s).*#### ", r"\.$")  # metric regexes_to_ignore
FALLBACK = "[invalid]"  # RegexFilter's value when nothing matches


def doc_to_text(question: str) -> str:
    """The harness's `doc_to_text` for gsm8k_cot: "Q: {question}\\nA:"."""
    return f"Q: {question}\nA:"


def fewshot_prompt(question: str, n_shot: int = 8) -> str:
    """The 8-shot (or first `n_shot`) chain-of-thought prompt for one test question."""
    if not 0 <= n_shot <= len(EXEMPLARS):
        raise ValueError(f"n_shot={n_shot} must be in [0, {len(EXEMPLARS)}]")
    shots = [doc_to_text(q) + TARGET_DELIMITER + t for q, t in EXEMPLARS[:n_shot]]
    context = FEWSHOT_DELIMITER.join(shots) + FEWSHOT_DELIMITER if shots else ""
    return context + doc_to_text(question)


def zero_shot_prompt(question: str) -> str:
    """gsm8k_cot_zeroshot's prompt ("Let's think step by step."); wrap it in a chat template
    for instruction-tuned models (`generate(..., chat_template=True)`)."""
    return f"Q: {question}\nA: Let's think step by step."


def target_from_answer(answer: str) -> str:
    """GSM8K answer field -> target string ("... #### 1,234" -> "1,234"), as doc_to_target."""
    return answer.split("####")[-1].strip()


def cut_at_stop(text: str, stop_strings: Sequence[str] = STOP_STRINGS) -> str:
    """The completion up to the first stop string (the harness's `until`)."""
    cut = min((i for s in stop_strings if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def _regex_filter(text: str, pattern: str, group_select: int) -> str:
    """lm-eval's RegexFilter on one response: findall, pick a match, first non-empty group."""
    matches = re.findall(pattern, text)
    if not matches:
        return FALLBACK
    m = matches[group_select]
    if isinstance(m, tuple):
        m = [g for g in m if g][0]
    return m.strip()


def strict_extract(text: str) -> str:
    """The number in the first "The answer is N." ("[invalid]" if none)."""
    return _regex_filter(text, STRICT_REGEX, 0)


def flexible_extract(text: str) -> str:
    """The last number-like span ("[invalid]" if none)."""
    return _regex_filter(text, FLEXIBLE_REGEX, -1)


def normalise(s: str) -> str:
    """exact_match's normalisation for gsm8k_cot (ignore_case, regexes_to_ignore)."""
    for pattern in IGNORE_REGEXES:
        s = re.sub(pattern, "", s)
    return s.lower()


def exact_match(prediction: str, target: str) -> float:
    return float(normalise(prediction) == normalise(target))


def score(completion: str, target: str) -> dict[str, float]:
    """Both harness scores of one completion (cut at the stop strings first) vs the target
    (a bare number, or a full GSM8K answer ending in "#### N")."""
    text = cut_at_stop(completion)
    return {"strict_match": exact_match(strict_extract(text), target),
            "flexible_extract": exact_match(flexible_extract(text), target)}
