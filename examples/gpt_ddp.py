"""The way past one machine: nn's GPT trained by PyTorch's DistributedDataParallel, then back.

    python examples/gpt_ddp.py [--steps 40] [--batch-size 16] [--world-size 2] [--seed 0]

1. Builds `GPT.microgpt` in nn and its torch twin with `nn.to_torch` (float64, the same weights).
2. Starts `--world-size` processes on this machine (`torch.multiprocessing.spawn`), joined by
   `torch.distributed` over gloo (CPU only) at MASTER_ADDR=127.0.0.1 on a free port. Each wraps
   the twin in `DistributedDataParallel` and trains it with Adam on the census first names
   (`nn.data.load_names`, `CharTokenizer`, `nn.data.language_model_pairs` padded with the end
   token): at every step the same global batch of `--batch-size` names is drawn everywhere, and
   each process takes its share (every world_size-th name). Its loss is its own summed token
   losses over the global batch's token count, times world_size, so that DDP's average of the
   gradients is exactly the gradient of the global batch's mean loss.
3. Rank 0 writes the trained state dict; this process loads it into a fresh twin and brings it
   back to nn with `nn.from_torch`.
4. Checks, and exits with an error when one fails: the held-out loss went down (nn computes it,
   on the trained model as on the untrained); the nn model gives the twin's logits (1e-12); and
   with `--check-one-process`, the same steps taken in this one process on whole batches end
   at the same weights (1e-9): two processes compute what one would.

On machines of their own, the processes would be started by `torchrun` with MASTER_ADDR set to
the first machine's address; the training function is the same. Needs torch and the `names`
package.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from nn import GPT, from_torch, to_torch
from nn.data import CharTokenizer, language_model_pairs, load_names
from nn.interop import torch_modules
from nn.losses import sequence_cross_entropy

BLOCK_SIZE = 16  # microgpt's
IGNORE = -100  # the padded positions' targets, which no loss counts
LOGITS_TOLERANCE = 1e-12
ONE_PROCESS_TOLERANCE = 1e-9
Rows = list[list[int]]  # examples of token ids, or of their targets


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16, help="names per step, all ranks")
    parser.add_argument("--world-size", type=int, default=2, help="processes")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=50, help="validation names scored")
    parser.add_argument("--check-one-process", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.world_size < 1 or args.batch_size < args.world_size:
        parser.error("need steps >= 1, world-size >= 1 and batch-size >= world-size")
    return args


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it), for the processes to meet at."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batches(n_examples: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """The example indices of every step's global batch: the same lists in every process."""
    rng = random.Random(seed)
    return [rng.sample(range(n_examples), batch_size) for _ in range(steps)]


def step_loss(
    twin: torch.nn.Module, X: Rows, y: Rows, indices: list[int], share: list[int], world_size: int
) -> torch.Tensor:
    """The loss of this process's `share` of the global batch `indices`, scaled so that the
    average over the processes (DDP's, of the gradients) is the global batch's mean token loss."""
    tokens = sum(1 for i in indices for target in y[i] if target != IGNORE)
    logits = twin(torch.tensor([X[i] for i in share]))
    targets = torch.tensor([y[i] for i in share])
    vocab = logits.shape[-1]
    total = torch.nn.functional.cross_entropy(
        logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
    return total * world_size / tokens


def worker(
    rank: int, world_size: int, config: dict, state: dict, X: Rows, y: Rows,
    args: argparse.Namespace, out: str,
) -> None:  # fmt: skip
    """One process: join the group, train its DDP-wrapped twin, and (rank 0) save the result."""
    torch.set_num_threads(1)  # one core each: the processes are the parallelism
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        twin = torch_modules.GPT(**config, dtype=torch.float64)
        twin.load_state_dict(state)
        model = DistributedDataParallel(twin)  # broadcasts rank 0's weights, averages gradients
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        losses = []
        for indices in batches(len(X), args.batch_size, args.steps, args.seed):
            optimizer.zero_grad()
            loss = step_loss(model, X, y, indices, indices[rank::world_size], world_size)
            loss.backward()  # DDP all-reduces the gradients here, over gloo
            optimizer.step()
            reported = loss.detach() / world_size
            dist.all_reduce(reported)  # the global batch's mean token loss, for the log
            losses.append(reported.item())
        if rank == 0:
            torch.save({"state": twin.state_dict(), "losses": losses}, out)
    finally:
        dist.destroy_process_group()


def one_process(
    config: dict, state: dict, X: Rows, y: Rows, args: argparse.Namespace
) -> torch.nn.Module:
    """The same steps in this process, on whole batches: what DDP should have computed."""
    twin = torch_modules.GPT(**config, dtype=torch.float64)
    twin.load_state_dict(state)
    optimizer = torch.optim.Adam(twin.parameters(), lr=args.lr)
    for indices in batches(len(X), args.batch_size, args.steps, args.seed):
        optimizer.zero_grad()
        step_loss(twin, X, y, indices, indices, 1).backward()
        optimizer.step()
    return twin


def held_out_loss(model: GPT, X_val: Rows, y_val: Rows) -> float:
    """nn's mean token loss over the held-out names (no graph kept beyond the call)."""
    return sequence_cross_entropy([model(x) for x in X_val], y_val).data


def main(argv: list[str] | None = None) -> dict:
    args = arguments(argv)
    tokenizer = CharTokenizer(load_names())
    end = tokenizer.end_id
    train = [tokenizer.encode(n, ends=True) for n in load_names("train", args.seed)]
    X, y = language_model_pairs(train, BLOCK_SIZE, pad=end, ignore_index=IGNORE)
    validation = load_names("validation", args.seed)[: args.held_out]
    held_out = [tokenizer.encode(n, ends=True) for n in validation]
    X_val, y_val = language_model_pairs(held_out, BLOCK_SIZE)

    model = GPT.microgpt(tokenizer.vocab_size, seed=args.seed)
    before = held_out_loss(model, X_val, y_val)
    twin = to_torch(model)
    config, state = twin.config(), twin.state_dict()

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "trained.pt")
        mp.spawn(worker, (args.world_size, config, state, X, y, args, out), args.world_size)
        saved = torch.load(out)
    seconds = time.perf_counter() - start
    losses = saved["losses"]
    print(f"{args.world_size} processes, {args.steps} steps of {args.batch_size} names: "
          f"{seconds:.1f} s; training loss {losses[0]:.4f} -> {losses[-1]:.4f}")  # fmt: skip

    trained = torch_modules.GPT(**config, dtype=torch.float64)
    trained.load_state_dict(saved["state"])
    back = from_torch(trained)  # an nn.GPT with the weights DDP trained
    after = held_out_loss(back, X_val, y_val)
    print(f"held-out loss ({len(X_val)} names, nn): {before:.4f} -> {after:.4f}")

    gap = 0.0
    with torch.no_grad():
        for x in X_val[:10]:
            expected = trained(torch.tensor(x)).tolist()
            ours = [[z.data for z in row] for row in back(x)]
            gap = max(gap, *(abs(a - b) for r, s in zip(ours, expected) for a, b in zip(r, s)))
    print(f"nn's logits against the twin's: largest difference {gap:.2e}")
    results = {"losses": losses, "before": before, "after": after, "logits_gap": gap}

    failures = []
    if not after < before:
        failures.append(f"the held-out loss did not go down ({before} -> {after})")
    if not gap <= LOGITS_TOLERANCE:
        failures.append(f"nn's logits differ from the twin's by {gap:.3g}")
    if args.check_one_process:
        alone = one_process(config, state, X, y, args).state_dict()
        drift = max((alone[k] - saved["state"][k]).abs().max().item() for k in alone)
        print(f"one process on whole batches against DDP: largest weight difference {drift:.2e}")
        results["one_process_drift"] = drift
        if not drift <= ONE_PROCESS_TOLERANCE:
            failures.append(f"DDP's weights differ from one process's by {drift:.3g}")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("ok")
    return results


if __name__ == "__main__":
    main()
