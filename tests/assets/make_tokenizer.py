"""Rebuild tests/assets/tokenizer: a 512-token byte-level BPE made with `tokenizers`.

Run: python tests/assets/make_tokenizer.py   (deterministic; the output is committed)
"""

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

HERE = Path(__file__).parent
TEXT = (
    "The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with a "
    "single step. To be, or not to be, that is the question. All that glitters is not gold. "
    "The sun rose over the quiet hills and the river ran down to the sea. She asked him why "
    "the stars were bright, and he said that nobody knew. 1 2 3 4 5 6 7 8 9 0 + - = ? ! "
    "Once upon a time there was a king who had three daughters. How many apples are left? "
) * 20


def main() -> None:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([TEXT], trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|pad|>", padding_side="left"
    )
    fast.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    fast.save_pretrained(HERE / "tokenizer")


if __name__ == "__main__":
    main()
