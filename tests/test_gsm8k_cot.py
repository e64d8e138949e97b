"""GSM8K chain-of-thought prompt and scoring vs lm-evaluation-harness's gsm8k_cot task.

References, quoted verbatim below with their source:
  - lm_eval/tasks/gsm8k/gsm8k-cot.yaml (EleutherAI/lm-evaluation-harness, task version 3.0):
    exemplars, doc_to_text/doc_to_target templates (rendered here with jinja2 as the harness
    does), the two filters' regexes, the metric's regexes_to_ignore, `until`;
  - the harness's ContextSampler joins shots as text + target_delimiter (" ") + target,
    separated by fewshot_delimiter ("\\n\\n").
Expected scores of the hand-written completions were worked out by hand from the regexes.
"""

from __future__ import annotations

import jinja2
import pytest
import yaml

from alpha.data import gsm8k_cot as G
from alpha.data.continuation import split_continuation, split_passages

# Verbatim from lm_eval/tasks/gsm8k/gsm8k-cot.yaml (commit b8d1d4f), the parts used here.
HARNESS_YAML = r"""
doc_to_target: '{{answer.split(''####'')[-1].strip() if answer is defined else target}}'
doc_to_text: 'Q: {{question}}

  A:'
fewshot_config:
  sampler: first_n
  samples:
  - question: There are 15 trees in the grove. Grove workers will plant trees in the
      grove today. After they are done, there will be 21 trees. How many trees did
      the grove workers plant today?
    target: There are 15 trees originally. Then there were 21 trees after some more
      were planted. So there must have been 21 - 15 = 6. The answer is 6.
  - question: If there are 3 cars in the parking lot and 2 more cars arrive, how many
      cars are in the parking lot?
    target: There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer
      is 5.
  - question: Leah had 32 chocolates and her sister had 42. If they ate 35, how many
      pieces do they have left in total?
    target: Originally, Leah had 32 chocolates. Her sister had 42. So in total they
      had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.
  - question: Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12
      lollipops. How many lollipops did Jason give to Denny?
    target: Jason started with 20 lollipops. Then he had 12 after giving some to Denny.
      So he gave Denny 20 - 12 = 8. The answer is 8.
  - question: Shawn has five toys. For Christmas, he got two toys each from his mom and
      dad. How many toys does he have now?
    target: Shawn started with 5 toys. If he got 2 toys each from his mom and dad,
      then that is 4 more toys. 5 + 4 = 9. The answer is 9.
  - question: There were nine computers in the server room. Five more computers were
      installed each day, from monday to thursday. How many computers are now in the
      server room?
    target: There were originally 9 computers. For each of 4 days, 5 more computers
      were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is
      29.
  - question: Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday,
      he lost 2 more. How many golf balls did he have at the end of wednesday?
    target: Michael started with 58 golf balls. After losing 23 on tuesday, he had
      58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer
      is 33.
  - question: Olivia has $23. She bought five bagels for $3 each. How much money does
      she have left?
    target: Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15
      dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.
filter_list:
- filter:
  - function: regex
    regex_pattern: The answer is (\-?[0-9\.\,]+).
  - function: take_first
  name: strict-match
- filter:
  - function: regex
    group_select: -1
    regex_pattern: (-?[$0-9.,]{2,})|(-?[0-9]+)
  - function: take_first
  name: flexible-extract
generation_kwargs:
  do_sample: false
  until:
  - 'Q:'
  - </s>
  - <|im_end|>
metric_list:
- aggregation: mean
  higher_is_better: true
  ignore_case: true
  ignore_punctuation: false
  metric: exact_match
  regexes_to_ignore:
  - ','
  - \$
  - '(?s).*#### '
  - \.$
num_fewshot: 8
"""
TASK = yaml.safe_load(HARNESS_YAML)
ENV = jinja2.Environment()


def _render(template: str, doc: dict) -> str:
    return ENV.from_string(template).render(**doc)


def test_constants_are_the_harness_ones():
    assert G.STRICT_REGEX == TASK["filter_list"][0]["filter"][0]["regex_pattern"]
    assert G.FLEXIBLE_REGEX == TASK["filter_list"][1]["filter"][0]["regex_pattern"]
    assert TASK["filter_list"][1]["filter"][0]["group_select"] == -1
    assert list(G.IGNORE_REGEXES) == TASK["metric_list"][0]["regexes_to_ignore"]
    assert list(G.STOP_STRINGS) == TASK["generation_kwargs"]["until"]
    assert len(G.EXEMPLARS) == TASK["num_fewshot"] == 8


def test_fewshot_prompt_equals_the_harness_rendering():
    question = "Janet’s ducks lay 16 eggs per day. How many?"
    shots = [_render(TASK["doc_to_text"], s) + " " + _render(TASK["doc_to_target"], s)
             for s in TASK["fewshot_config"]["samples"]]
    expected = "\n\n".join(shots) + "\n\n" + _render(TASK["doc_to_text"], {"question": question})
    assert G.fewshot_prompt(question) == expected
    assert expected.endswith("Q: Janet’s ducks lay 16 eggs per day. How many?\nA:")
    assert G.fewshot_prompt(question, n_shot=0) == f"Q: {question}\nA:"
    with pytest.raises(ValueError, match="n_shot=9"):
        G.fewshot_prompt(question, n_shot=9)


def test_target_is_the_harness_doc_to_target():
    answer = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 1,018"
    assert G.target_from_answer(answer) == _render(TASK["doc_to_target"], {"answer": answer}) == "1,018"


# (completion, target, strict extraction, flexible extraction, strict score, flexible score)
CASES = [
    ("She has 5 + 4 = 9 toys. The answer is 9.", "9", "9", "9.", 1, 1),
    # "$" after "is " defeats the strict regex; flexible keeps "$1,200." -> normalised "1200"
    ("He pays $1,200 in total. The answer is $1,200.", "#### 1,200", "[invalid]", "$1,200.", 0, 1),
    ("I don't know.", "4", "[invalid]", "[invalid]", 0, 0),
    # strict takes the first "The answer is" (its final "." matched the space), flexible the last
    ("The answer is 5. Wait, The answer is 6.", "6", "5.", "6.", 0, 1),
    ("It drops to -3 degrees. The answer is -3.", "-3", "-3", "-3.", 1, 1),
    # the trailing "." of the strict regex eats a character: at the very end it takes a digit
    ("The answer is 1,000,000", "1000000", "1,000,00", "1,000,000", 0, 1),
    ("Natalia sold 48/2 = 24 clips. 48 + 24 = 72. The answer is 72.", "72", "72", "72.", 1, 1),
    ("The total is 0.50 dollars. The answer is 0.5.", "0.5", "0.5", "0.5.", 1, 1),
]


@pytest.mark.parametrize("completion,target,strict,flexible,s_score,f_score", CASES)
def test_extraction_and_scores_on_hand_written_completions(completion, target, strict, flexible,
                                                           s_score, f_score):
    assert G.strict_extract(completion) == strict
    assert G.flexible_extract(completion) == flexible
    assert G.score(completion, target) == {"strict_match": s_score, "flexible_extract": f_score}


def test_completion_is_cut_at_the_first_stop_string():
    text = "3 + 5 = 8. The answer is 8.\n\nQ: Tom has 3 apples. A: The answer is 3."
    assert G.cut_at_stop(text) == "3 + 5 = 8. The answer is 8.\n\n"
    assert G.score(text, "8") == {"strict_match": 1.0, "flexible_extract": 1.0}
    assert G.flexible_extract(text) == "3."  # what scoring the uncut text would have used
    assert G.cut_at_stop("So 7.<|im_end|>junk 9") == "So 7."


def test_normalisation_is_case_insensitive_and_drops_the_harness_regexes():
    assert G.normalise("Reasoning...\n#### $1,234.") == "1234"
    assert G.exact_match("ABC", "abc") == 1.0
    assert G.zero_shot_prompt("Q1?") == "Q: Q1?\nA: Let's think step by step."


def test_continuation_split_by_tokens(tiny_tokenizer):
    text = "The quick brown fox jumps over the lazy dog and runs far away."
    ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    prompt, ref = split_continuation(text, tiny_tokenizer, prompt_tokens=4)
    assert prompt == tiny_tokenizer.decode(ids[:4]) and prompt + ref == text  # lossless split
    _, short = split_continuation(text, tiny_tokenizer, prompt_tokens=4, max_reference_tokens=3)
    assert short == tiny_tokenizer.decode(ids[4:7])
    assert split_continuation("too short", tiny_tokenizer, prompt_tokens=50) is None
    rows = split_passages(["a", text], tiny_tokenizer, prompt_tokens=4)
    assert [r[0] for r in rows] == [1] and rows[0][1:] == (prompt, ref)
    with pytest.raises(ValueError, match="prompt_tokens=0"):
        split_continuation(text, tiny_tokenizer, prompt_tokens=0)
