"""The pre-norm transformer block of `GPT` (Radford et al., 2019, "Language models are
unsupervised multitask learners"): attention and an MLP, each on a normalised copy of the
residual stream and added back to it.

    x = x + attn(norm_1(x))          (causal self-attention over the positions so far)
    x = x + mlp(norm_2(x))           (Linear(n, 4n), ReLU or GELU, Linear(4n, n), per position)
"""

from __future__ import annotations

from typing import Any

from autograd import Value
from nn.layers.activation import GELU, ReLU
from nn.layers.attention import KVCache, MultiheadAttention
from nn.layers.layer_norm import LayerNorm, RMSNorm
from nn.layers.linear import Linear, Sequential
from nn.module import Module

NORMS = ("layernorm", "rmsnorm")
ACTIVATIONS = {"relu": ReLU, "gelu": GELU}


def make_norm(kind: str, size: int, eps: float, weights: bool, bias: bool) -> Module:
    """A `LayerNorm` (with a bias when `bias`) or an `RMSNorm` over `size` features; `weights`
    is their `elementwise_affine`."""
    if kind == "layernorm":
        return LayerNorm(size, eps=eps, elementwise_affine=weights, bias=bias)
    return RMSNorm(size, eps=eps, elementwise_affine=weights)


class Block(Module):
    """One transformer block over a sequence of `n_embd`-wide steps (see the module docstring).

    Its parts, as the state dict names them: `norm_1`, `attn` (a `MultiheadAttention`), `norm_2`
    and `mlp` (a `Sequential`: `mlp.0` the Linear to 4 n_embd, `mlp.2` the one back). `bias`
    gives every Linear, the attention and a LayerNorm their biases, or none of them.
    """

    def __init__(
        self, n_embd: int, n_head: int, *, norm: str, norm_weights: bool, norm_eps: float,
        mlp: str, bias: bool,
    ) -> None:  # fmt: skip
        self.norm_1 = make_norm(norm, n_embd, norm_eps, norm_weights, bias)
        self.attn = MultiheadAttention(n_embd, n_head, bias=bias, seed=0)
        self.norm_2 = make_norm(norm, n_embd, norm_eps, norm_weights, bias)
        self.mlp = Sequential(
            Linear(n_embd, 4 * n_embd, bias, seed=0),
            ACTIVATIONS[mlp](),
            Linear(4 * n_embd, n_embd, bias, seed=0),
        )
        self.attn.out_proj._scope_name = "out_proj"
        for name in ("norm_1", "attn", "norm_2", "mlp"):  # graph drawings name boxes as these
            getattr(self, name)._scope_name = name

    def forward(self, x: list[list[Value]]) -> list[list[Value]]:
        """The block over a whole sequence, each position attending to itself and those before."""
        h = self.norm_1(x)
        attended, _ = self.attn(h, h, h, is_causal=True, need_weights=False)
        x = [_add(a, b) for a, b in zip(x, attended)]
        return [_add(step, self.mlp(self.norm_2(step))) for step in x]

    def step(self, x: list[Value], cache: KVCache) -> list[Value]:
        """The block at the next position of a sequence whose earlier keys and values `cache`
        holds (`MultiheadAttention.step`): what `forward` gives for that position."""
        x = _add(x, self.attn.step(self.norm_1(x), cache))
        return _add(x, self.mlp(self.norm_2(x)))

    def matrices(self) -> list[list[list[Value]]]:
        """The weight matrices `GPT` draws from N(0, init_std), in the state dict's order."""
        linears = [self.attn.out_proj, self.mlp[0], self.mlp[2]]
        return [self.attn.in_proj_weight, *(linear.weight for linear in linears)]

    def biases(self) -> list[list[Value]]:
        """The biases of the attention and the MLP (none without `bias`): `GPT` zeroes them."""
        held = [self.attn.in_proj_bias, self.attn.out_proj.bias, self.mlp[0].bias, self.mlp[2].bias]
        return [b for b in held if b is not None]

    def __repr__(self) -> str:
        parts: dict[str, Any] = {
            "norm_1": self.norm_1, "attn": self.attn, "norm_2": self.norm_2, "mlp": self.mlp,
        }  # fmt: skip
        lines = [f"  ({name}): " + repr(part).replace("\n", "\n  ") for name, part in parts.items()]
        return "Block(\n" + "\n".join(lines) + "\n)"


def _add(a: list[Value], b: list[Value]) -> list[Value]:
    """The residual connection: a + b, entry by entry."""
    return [u + v for u, v in zip(a, b)]
