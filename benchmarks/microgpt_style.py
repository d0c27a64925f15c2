"""A GPT trained on names, written the way Karpathy's microgpt (February 2026) writes it.

This program is this project's own, written from microgpt's published description, not copied from
it: a scalar `Value` whose nodes keep their children and local gradients, a model built from `+ *
** log exp relu` on those scalars (Python's own `sum()`, an RMSNorm, a softmax that subtracts the
largest logit taken from `.data`), Adam written out on `p.data`, `p.grad = 0` after each update,
and one name per training step. Everything takes the `Value` class as an argument, so the same
program runs on `MicroValue` below or on `autograd.Value` with nothing else changed.

`tests/test_microgpt_compat.py` checks that both engines give the same losses;
`benchmarks/microgpt.py` times one training step on each.
"""

from __future__ import annotations

import math
import random

# microgpt's configuration: 16 numbers per token, 4 heads, 1 layer, names of up to 16 tokens.
CONFIG = {"n_embd": 16, "n_head": 4, "n_layer": 1, "block_size": 16}


class MicroValue:
    """The reference engine: a node keeps its children and d(node)/d(child) for each, in tuples,
    and `backward()` orders the graph by a recursive depth-first search."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return MicroValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def log(self):
        return MicroValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        e = math.exp(self.data)
        return MicroValue(e, (self,), (e,))

    def relu(self):
        return MicroValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1
        for node in reversed(order):
            for child, local in zip(node._children, node._local_grads):
                child.grad += local * node.grad


# --- the model, on scalars ------------------------------------------------------------------------
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def softmax(logits):
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    mean_square = sum(xi * xi for xi in x) / len(x)
    scale = (mean_square + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def init_params(Value, vocab_size, n_embd, n_head, n_layer, block_size, rng):
    def matrix(rows, cols, std=0.08):
        return [[Value(rng.gauss(0, std)) for _ in range(cols)] for _ in range(rows)]

    params = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd)}
    for i in range(n_layer):
        for name in ("wq", "wk", "wv", "wo"):
            params[f"h{i}.{name}"] = matrix(n_embd, n_embd)
        params[f"h{i}.fc1"] = matrix(4 * n_embd, n_embd)
        params[f"h{i}.fc2"] = matrix(n_embd, 4 * n_embd)
    params["lm_head"] = matrix(vocab_size, n_embd)
    return params


def gpt(params, token, position, keys, values, n_head):
    """The logits after one token, given the keys and values of the tokens before it."""
    x = [t + p for t, p in zip(params["wte"][token], params["wpe"][position])]
    x = rmsnorm(x)
    head_dim = len(x) // n_head
    for i in range(len(keys)):
        skip = x
        x = rmsnorm(x)
        q = linear(x, params[f"h{i}.wq"])
        keys[i].append(linear(x, params[f"h{i}.wk"]))
        values[i].append(linear(x, params[f"h{i}.wv"]))
        attended = []
        for h in range(n_head):
            lo, hi = h * head_dim, (h + 1) * head_dim
            scores = [
                sum(qj * kj for qj, kj in zip(q[lo:hi], k[lo:hi])) / head_dim**0.5 for k in keys[i]
            ]
            weights = softmax(scores)
            attended += [sum(w * v[j] for w, v in zip(weights, values[i])) for j in range(lo, hi)]
        x = [a + b for a, b in zip(linear(attended, params[f"h{i}.wo"]), skip)]
        skip = x
        hidden = [h.relu() for h in linear(rmsnorm(x), params[f"h{i}.fc1"])]
        x = [a + b for a, b in zip(linear(hidden, params[f"h{i}.fc2"]), skip)]
    return linear(x, params["lm_head"])


# --- training and sampling -----------------------------------------------------------------------
class Program:
    """microgpt's script as an object, so a test and a benchmark can run it step by step: the
    parameters and Adam's moments, `step()` (the body of the training loop: one name, Adam with a
    linearly decaying learning rate; returns the name's mean cross-entropy) and `sample()`."""

    def __init__(self, Value, docs, num_steps, seed=42, learning_rate=0.01, **config):
        config = {**CONFIG, **config}
        self.n_head, self.n_layer = config["n_head"], config["n_layer"]
        self.block_size = config["block_size"]
        self.rng = random.Random(seed)
        self.docs = list(docs)
        self.rng.shuffle(self.docs)
        self.chars = sorted(set("".join(self.docs)))
        self.end = len(self.chars)  # one token marks both ends of a name
        self.params = init_params(Value, len(self.chars) + 1, rng=self.rng, **config)
        self.flat = [p for matrix in self.params.values() for row in matrix for p in row]
        self.m, self.v = [0.0] * len(self.flat), [0.0] * len(self.flat)
        self.num_steps, self.learning_rate, self.steps_done = num_steps, learning_rate, 0

    def step(self):
        step, chars, end = self.steps_done, self.chars, self.end
        doc = self.docs[step % len(self.docs)]
        tokens = [end] + [chars.index(c) for c in doc] + [end]
        n = min(self.block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(self.n_layer)], [[] for _ in range(self.n_layer)]
        losses = []
        for position in range(n):
            logits = gpt(self.params, tokens[position], position, keys, values, self.n_head)
            probs = softmax(logits)
            losses.append(-probs[tokens[position + 1]].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        lr = self.learning_rate * (1 - step / self.num_steps)
        beta1, beta2, eps, m, v = 0.85, 0.99, 1e-8, self.m, self.v
        for i, p in enumerate(self.flat):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1 ** (step + 1))
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr * m_hat / (v_hat**0.5 + eps)
            p.grad = 0
        self.steps_done += 1
        return loss.data

    def sample(self, count, temperature=0.5):
        """`count` new names, each drawn a character at a time until the end token comes."""
        names = []
        for _ in range(count):
            keys, values = [[] for _ in range(self.n_layer)], [[] for _ in range(self.n_layer)]
            token, name = self.end, ""
            for position in range(self.block_size):
                logits = gpt(self.params, token, position, keys, values, self.n_head)
                probs = softmax([logit / temperature for logit in logits])
                weights = [p.data for p in probs]
                token = self.rng.choices(range(len(probs)), weights=weights)[0]
                if token == self.end:
                    break
                name += self.chars[token]
            names.append(name)
        return names
