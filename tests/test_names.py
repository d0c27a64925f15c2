"""nn.data.load_names (the `names` package's census first names) and nn.data.CharTokenizer."""

import os
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn.data import CharTokenizer, load_names

ROOT = Path(__file__).resolve().parent.parent


def census_lines():
    names = pytest.importorskip("names")
    male = Path(names.FILES["first:male"]).read_text().split("\n")
    female = Path(names.FILES["first:female"]).read_text().split("\n")
    return [line.split()[0] for line in male if line], [line.split()[0] for line in female if line]


def test_the_5494_census_lines_hold_5163_distinct_names_because_331_are_in_both_lists():
    male, female = census_lines()
    assert (len(male), len(female)) == (1219, 4275)  # the 5,494 counts lines
    assert len(set(male) & set(female)) == 331
    names = load_names()
    assert len(names) == 5163 == len(set(male) | set(female))
    assert set(names) == {name.lower() for name in male + female}


def test_all_names_are_lower_case_letters_each_once_in_alphabetical_order():
    census_lines()
    names = load_names()
    assert names == sorted(set(names))
    assert set("".join(names)) == set(string.ascii_lowercase)
    assert (min(map(len, names)), max(map(len, names))) == (2, 11)
    assert {"james", "mary", "emma", "zona"} <= set(names)


def test_the_three_splits_partition_the_names_in_the_asked_proportions():
    census_lines()
    train, valid, test = (load_names(split, seed=3) for split in ("train", "validation", "test"))
    assert (len(train), len(valid), len(test)) == (4131, 516, 516)
    assert sorted(train + valid + test) == load_names()
    assert set(train).isdisjoint(valid) and set(train).isdisjoint(test)
    assert set(valid).isdisjoint(test)
    halves = load_names("validation", seed=3, validation=0.5, test=0.0)
    assert len(halves) == round(5163 / 2) and load_names("test", validation=0.5, test=0.0) == []


def test_one_seed_gives_one_split_and_another_seed_another():
    census_lines()
    assert load_names("train", seed=7) == load_names("train", seed=7)
    assert load_names("train", seed=7) != load_names("train", seed=8)
    assert load_names("train", seed=7) != sorted(load_names("train", seed=7))  # shuffled


def test_returned_lists_are_the_callers_to_change():
    census_lines()
    names = load_names()
    names.clear()
    assert len(load_names()) == 5163


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"split": "training"}, "split must be one of"),
        ({"validation": 1.5}, "validation must be a fraction"),
        ({"test": -0.1}, "test must be a fraction"),
        ({"test": True}, "test must be a fraction"),
        ({"validation": 0.5, "test": 0.5}, "must leave names to train on"),
    ],
)
def test_bad_arguments_are_refused_by_name(arguments, message):
    census_lines()
    with pytest.raises(ValueError, match=message):
        load_names(**arguments)


def test_without_the_names_package_load_names_says_what_to_install():
    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'names':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from nn.data import load_names\n"
        "try:\n"
        "    load_names()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", blocked],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 'load_names needs names (not installed): pip install "chainrule[names]"' in (
        result.stdout
    ), result.stderr


# --- CharTokenizer ---------------------------------------------------------------------------
def test_the_vocabulary_is_the_sorted_characters_then_the_end_token_as_microgpt_numbers_them():
    texts = ["emma", "olivia", "ava"]
    tokenizer = CharTokenizer(texts)
    characters = sorted(set("".join(texts)))  # microgpt: uchars; its BOS is len(uchars)
    assert tokenizer.vocab == (*characters, "\n")
    assert tokenizer.end_id == len(characters) and tokenizer.vocab_size == len(characters) + 1
    assert tokenizer.encode("olivia") == [characters.index(c) for c in "olivia"]
    assert tokenizer.encode("ava", ends=True) == [len(characters), 0, 6, 0, len(characters)]


def test_the_census_names_make_26_letters_and_the_end_token():
    census_lines()
    tokenizer = CharTokenizer(load_names())
    assert tokenizer.vocab_size == 27 and "".join(tokenizer.vocab[:26]) == string.ascii_lowercase


@given(
    texts=st.lists(st.text(alphabet="abcxyz.!", min_size=1, max_size=8), min_size=1, max_size=5),
    data=st.data(),
)
def test_decode_undoes_encode_for_any_text_over_the_vocabulary(texts, data):
    tokenizer = CharTokenizer(texts, end="#")
    alphabet = "".join(tokenizer.vocab)
    text = data.draw(st.text(alphabet=alphabet, max_size=12))
    assert tokenizer.decode(tokenizer.encode(text)) == text
    ids = tokenizer.encode(text, ends=True)
    assert tokenizer.decode(ids) == f"#{text}#"
    assert all(0 <= i < tokenizer.vocab_size for i in ids)


def test_unknown_characters_and_ids_are_refused_with_their_names():
    tokenizer = CharTokenizer(["abc"])
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['!', 'z'\]"):
        tokenizer.encode("az!a")
    refused = r"ids not in the vocabulary of 4 tokens \(0..3\): \[-1, 4\]"
    with pytest.raises(ValueError, match=refused):
        tokenizer.decode([0, 4, -1])
    with pytest.raises(TypeError, match=r"ids\[1\] must be an int, got float 1.0"):
        tokenizer.decode([0, 1.0])
    with pytest.raises(TypeError, match="text must be a string"):
        tokenizer.encode(["a"])


def test_bad_texts_and_end_tokens_are_refused():
    with pytest.raises(ValueError, match="hold no characters"):
        CharTokenizer(["", ""])
    with pytest.raises(TypeError, match=r"texts\[1\] must be a string, got int"):
        CharTokenizer(["ab", 3])
    with pytest.raises(ValueError, match="end token '.' occurs in the texts"):
        CharTokenizer(["a.b"], end=".")
    with pytest.raises(ValueError, match="end must be one character"):
        CharTokenizer(["ab"], end="<end>")
