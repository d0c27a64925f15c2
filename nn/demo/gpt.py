"""`python -m nn.demo --gpt`: microgpt's model learns the census first names, then makes up more.

Takes the training split of `nn.data.load_names` (4,131 names, shuffled with `--seed`), reads
each as characters between two end tokens (`CharTokenizer`, 27 tokens), and trains
`GPT.microgpt` as microgpt trains: one name per step, in order, with Adam (lr 0.01, betas
0.85 and 0.99) and the learning rate decaying linearly to 0 over the steps (`LinearLR`), for
`--steps` steps (default 1000, microgpt's, about a minute). It prints the mean loss of the last
steps, the loss on 100 held-out names, then 10 new names sampled at temperature 0.5, marking
with `*` any that is in the training set.

The steps are written out below, as microgpt writes them, with a progress bar per step;
`nn.train.fit(..., batch_size=1, shuffle=False, scheduler_interval="step")` takes the same steps
(tests/test_gpt_training.py checks it), but its progress bar counts epochs.
"""

from __future__ import annotations

import argparse
import sys

from tqdm.auto import tqdm

from autograd import no_grad
from nn import GPT
from nn.data import CharTokenizer, language_model_pairs, load_names
from nn.losses import sequence_cross_entropy
from nn.optim import Adam, LinearLR

SAMPLES = 10
HELD_OUT = 100  # validation names scored at the end


def run_gpt(args: argparse.Namespace) -> None:
    """Train, score and sample, with the demo's options (`--steps`, `--seed`, `--no-progress`)."""
    try:
        train, validation = load_names("train", args.seed), load_names("validation", args.seed)
    except ImportError as error:
        sys.exit(f"the GPT demo needs the census names: {error}")
    tokenizer = CharTokenizer(load_names())
    end = tokenizer.end_id
    model = GPT.microgpt(tokenizer.vocab_size, seed=args.seed)
    X, y = language_model_pairs([tokenizer.encode(name, ends=True) for name in train], 16)
    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    schedule = LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=args.steps)
    print(
        f"training microgpt's model ({len(model.parameters()):,} parameters) on {len(train):,} "
        f"names, {args.steps} steps of one name each"
    )
    losses = []
    bar = tqdm(range(args.steps), desc="training", unit="step", disable=not args.progress)
    for step in bar:
        loss = sequence_cross_entropy(model(X[step % len(X)]), y[step % len(y)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.data)
        bar.set_postfix(loss=f"{loss.data:.3f}")
    recent = losses[-100:]
    held_out = [tokenizer.encode(name, ends=True) for name in validation[:HELD_OUT]]
    X_val, y_val = language_model_pairs(held_out, 16)
    with no_grad():
        val_loss = sequence_cross_entropy([model(x) for x in X_val], y_val).data
    print(f"training loss (mean of the last {len(recent)} steps): {sum(recent) / len(recent):.3f}")
    print(f"held-out loss on {HELD_OUT} validation names: {val_loss:.3f} (uniform guess: 3.296)")
    print(f"{SAMPLES} new names (* = in the training set):")
    known = set(train)
    for i in range(SAMPLES):
        tokens = model.generate(
            [end], 16, temperature=0.5, seed=args.seed * 1000 + i, stop_token=end
        )
        name = tokenizer.decode([t for t in tokens[1:] if t != end])
        print(f"  {name}{' *' if name in known else ''}")
