"""Training a GPT: the sequence loss and its padding, next-token pairs, and `fit` one name per
step with microgpt's schedule, on padded mini-batches, and through a checkpoint."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn import GPT
from nn.data import language_model_pairs
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR
from nn.train import fit

END = 0  # the test's end-of-name token; letters are 1..6
NAMES = [[END, 1, 2, 3, END], [END, 4, 5, END], [END, 6, 1, 1, 2, END], [END, 3, END]]


def tiny_gpt(seed=0):
    return GPT(vocab_size=7, block_size=6, n_embd=8, n_head=2, n_layer=1, seed=seed)


def gradients(model):
    return [p.grad for p in model.parameters()]


# --- the loss ---------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 3), st.integers(1, 3), st.integers(0, 6))
def test_padding_never_changes_the_loss_or_the_gradients_of_the_real_tokens(i, extra, pad):
    model = tiny_gpt()
    (x,), (y,) = language_model_pairs([NAMES[i]], block_size=6)
    extra = min(extra, model.block_size - len(x))
    model.zero_grad()
    loss = sequence_cross_entropy(model(x), y)
    loss.backward()
    plain = gradients(model)
    model.zero_grad()
    padded = sequence_cross_entropy(model(x + [pad] * extra), y + [-100] * extra)
    padded.backward()
    assert padded.data == loss.data and gradients(model) == plain  # bit for bit


def test_a_batch_loss_is_the_mean_over_every_counted_position():
    rows = [[Value(0.0), Value(1.0)], [Value(2.0), Value(0.0)], [Value(0.5), Value(0.5)]]
    one = sequence_cross_entropy(rows[:2], [1, 0])
    two = sequence_cross_entropy(rows[2:], [1])
    batch = sequence_cross_entropy(
        [rows[:2], rows[2:] + [[Value(9.0), Value(0.0)]]], [[1, 0], [1, -100]]
    )
    assert abs(batch.data - (2 * one.data + two.data) / 3) < 1e-15


@pytest.mark.parametrize(
    ("logits", "targets", "error", "message"),
    [
        ([[0.0, 1.0]], [-100], ValueError, r"every target is ignore_index=-100"),
        ([[0.0, 1.0]], [1, 0], ValueError, r"logits has 1 positions but targets has 2"),
        ([[[0.0, 1.0]]], [[1], [0]], ValueError, r"1 sequences of logits but 2 of targets"),
        ([[0.0, 1.0]], [2], IndexError, r"targets\[0\] is 2, out of range for 2 classes"),
        ([[0.0, 1.0]], [1.5], TypeError, r"targets\[0\] must be an int class index"),
        ([[0.0, 1.0]], 1, TypeError, r"logits and targets must be lists"),
    ],
)
def test_the_sequence_loss_refuses_bad_input_by_name(logits, targets, error, message):
    with pytest.raises(error, match="sequence_cross_entropy: " + message):
        sequence_cross_entropy(logits, targets)


# --- next-token pairs ---------------------------------------------------------------------------
def test_pairs_shift_by_one_and_keep_the_first_block_size_positions():
    X, y = language_model_pairs([[0, 1, 2, 3, 4, 5, 0]], block_size=4)
    assert X == [[0, 1, 2, 3]] and y == [[1, 2, 3, 4]]
    X, y = language_model_pairs(NAMES, block_size=6, pad=END)
    assert {len(x) for x in X} == {5} and y[3] == [3, END, -100, -100, -100]
    assert X[3] == [END, 3, END, END, END]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (([[0]], 4), ValueError, r"token_lists\[0\] has 1 token\(s\)"),
        (([], 4), ValueError, r"token_lists is empty"),
        (([[0, 1]], 0), ValueError, r"block_size must be >= 1"),
        (([[0, -1]], 4), ValueError, r"token_lists\[0\]\[1\] must be >= 0"),
        (([[0, "a"]], 4), TypeError, r"token_lists\[0\]\[1\] must be an int"),
        (("ab", 4), TypeError, r"token_lists must be a list of token lists"),
    ],
)
def test_pairs_refuse_bad_input_by_name(arguments, error, message):
    with pytest.raises(error, match="language_model_pairs: " + message):
        language_model_pairs(*arguments)


# --- fit ----------------------------------------------------------------------------------------
def microgpt_optimizer(model, steps):
    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    return optimizer, LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=steps)


def test_fit_one_name_per_step_is_microgpts_loop_with_its_linear_decay():
    data = language_model_pairs(NAMES, block_size=6)
    model, by_hand = tiny_gpt(seed=1), tiny_gpt(seed=1)
    optimizer, schedule = microgpt_optimizer(model, steps=8)
    history = fit(
        model, sequence_cross_entropy, optimizer, data, epochs=2, batch_size=1, shuffle=False,
        scheduler=schedule, scheduler_interval="step", progress=False,
    )  # fmt: skip
    parameters = by_hand.parameters()
    m, v = [0.0] * len(parameters), [0.0] * len(parameters)
    for step in range(8):  # microgpt's training loop, its Adam written out
        x, y = data[0][step % 4], data[1][step % 4]
        loss = sequence_cross_entropy(by_hand(x), y)
        loss.backward()
        lr = 0.01 * (1 - step / 8)
        for i, p in enumerate(parameters):
            m[i] = 0.85 * m[i] + 0.15 * p.grad
            v[i] = 0.99 * v[i] + 0.01 * p.grad**2
            m_hat, v_hat = m[i] / (1 - 0.85 ** (step + 1)), v[i] / (1 - 0.99 ** (step + 1))
            p.data -= lr * m_hat / (v_hat**0.5 + 1e-8)
            p.grad = 0.0
    for ours, theirs in zip(model.parameters(), parameters):
        assert abs(ours.data - theirs.data) < 1e-12
    assert len(history.loss) == 2 and history.accuracy == []  # list targets: no accuracy
    assert optimizer.lr == 0.0 and schedule.last_epoch == 8


def test_fit_trains_on_padded_mini_batches_and_lowers_the_loss():
    data = language_model_pairs(NAMES, block_size=6, pad=END)
    model = tiny_gpt(seed=2)
    optimizer = Adam(model.parameters(), lr=0.02)
    history = fit(
        model, sequence_cross_entropy, optimizer, data, epochs=15, batch_size=2, seed=0,
        validation=data, progress=False,
    )  # fmt: skip
    assert history.loss[-1] < 0.6 * history.loss[0]
    assert history.val_loss[-1] < 0.6 * history.val_loss[0]


def test_a_per_step_schedule_resumes_from_a_checkpoint_to_the_same_weights(tmp_path):
    data = language_model_pairs(NAMES, block_size=6)

    def run(epochs, **checkpointing):
        model = tiny_gpt(seed=3)
        optimizer, schedule = microgpt_optimizer(model, steps=12)
        fit(
            model, sequence_cross_entropy, optimizer, data, epochs=epochs, batch_size=1, seed=1,
            scheduler=schedule, scheduler_interval="step", progress=False, **checkpointing,
        )  # fmt: skip
        return model.state_dict(), optimizer.lr

    path = tmp_path / "run.json"
    run(2, checkpoint=path)
    assert run(3, checkpoint=path, resume=path) == run(3)
    with pytest.raises(ValueError, match="scheduler_interval='step'"):
        model = tiny_gpt(seed=3)
        optimizer, schedule = microgpt_optimizer(model, steps=12)
        fit(
            model, sequence_cross_entropy, optimizer, data, epochs=3, batch_size=1, seed=1,
            scheduler=schedule, progress=False, resume=path,
        )  # fmt: skip


def test_fit_refuses_an_unknown_scheduler_interval():
    model = tiny_gpt()
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        fit(model, sequence_cross_entropy, Adam(model.parameters()),
            language_model_pairs(NAMES, 6), scheduler_interval="batch")  # fmt: skip
