"""Convolutions, as PyTorch names them: Conv1d and Conv2d, one example at a time.

An example is nested lists: channels x length for Conv1d, channels x height x width for Conv2d;
the output is nested the same way, out_channels first. Each output entry is one `dot` node over
the in_channels x kernel weights and the inputs they cover, plus the bias, so a convolution costs
per multiply-add what `Linear` does. Entries of the zero padding are left out of the dot (they
add nothing to it), so a padded input makes no extra nodes. Each output channel's nodes are made
inside a graph scope "channel o", so `draw_graph(y, collapse="channel")` draws a convolution one
box per output channel, as `collapse="neuron"` draws an MLP one box per neuron.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from autograd import Value, dot, graph_scope
from nn.layers.arguments import boolean_flag, positive_size, random_source_for
from nn.layers.windows import Gather, check_fits, flatten_example, gather, spatial, windows
from nn.model_files import saveable
from nn.module import Module

Plan = tuple[tuple[int, ...], list[tuple[Gather | None, Gather | None]]]


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, weights, the windows, the forward pass."""

    dims: ClassVar[int]
    config_keys = (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "bias",
    )

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
        *,
        seed: int | None = None,
    ) -> None:
        name, dims = type(self).__name__, self.dims
        self.in_channels = positive_size("in_channels", in_channels)
        self.out_channels = positive_size("out_channels", out_channels)
        self.kernel_size = spatial(name, "kernel_size", kernel_size, dims, 1)
        self.stride = spatial(name, "stride", stride, dims, 1)
        self.padding = spatial(name, "padding", padding, dims, 0)
        self.dilation = spatial(name, "dilation", dilation, dims, 1)
        rng = random_source_for(seed)
        fan_in = self.in_channels * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)  # kaiming_uniform with a = sqrt(5), PyTorch's default

        def draw(shape: Sequence[int]) -> list:
            if len(shape) == 1:
                return [Value(rng.uniform(-bound, bound)) for _ in range(shape[0])]
            return [draw(shape[1:]) for _ in range(shape[0])]

        self.weight = draw((self.out_channels, self.in_channels, *self.kernel_size))
        self.bias: list[Value] | None = None
        if boolean_flag("bias", bias):
            self.bias = draw((self.out_channels,))
        self._plans: dict[tuple[int, ...], Plan] = {}
        self._channels = [graph_scope(self, f"channel {o}") for o in range(self.out_channels)]

    def forward(self, x: Sequence[Any]) -> list:
        flat, sizes = flatten_example(self, x, self.in_channels, self.dims)
        out_sizes, plan = self._plan(sizes)
        outputs = []
        for o, kernel in enumerate(self.weight):
            row = tuple(_entries(kernel))
            b = None if self.bias is None else self.bias[o]
            channel = []
            with self._channels[o]:
                for pick_weights, pick_inputs in plan:
                    if pick_inputs is None:  # the window lies wholly in the padding
                        channel.append(Value(0.0) if b is None else b + 0.0)
                        continue
                    y = dot(row if pick_weights is None else pick_weights(row), pick_inputs(flat))
                    channel.append(y if b is None else y + b)
            outputs.append(_fold(channel, out_sizes))
        return outputs

    def _plan(self, sizes: tuple[int, ...]) -> Plan:
        """For each output position, what to pick from the flattened weights of an output
        channel (None: all of them) and from the flattened input; made once per input size."""
        if sizes in self._plans:
            return self._plans[sizes]
        check_fits(self, sizes, self.kernel_size, self.padding, self.dilation)
        args = (self.kernel_size, self.stride, self.padding, self.dilation)
        out_sizes, positions = windows(sizes, *args)
        kernel, area = math.prod(self.kernel_size), math.prod(sizes)
        plan: list[tuple[Gather | None, Gather | None]] = []
        for pairs in positions:
            if not pairs:
                plan.append((None, None))
                continue
            channels = range(self.in_channels)
            spread = [(i * kernel + k, i * area + j) for i in channels for k, j in pairs]
            weights = None if len(pairs) == kernel else gather([k for k, _ in spread])
            plan.append((weights, gather([j for _, j in spread])))
        self._plans[sizes] = (out_sizes, plan)
        return out_sizes, plan

    @classmethod
    def _count_parameters(cls, config: dict[str, Any]) -> int:
        name = cls.__name__
        kernel = math.prod(spatial(name, "kernel_size", config["kernel_size"], cls.dims, 1))
        outputs = positive_size("out_channels", config["out_channels"])
        inputs = positive_size("in_channels", config["in_channels"])
        return outputs * (inputs * kernel + boolean_flag("bias", config["bias"]))

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "bias": self.bias is not None,
        }

    def __repr__(self) -> str:
        text = (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text + ")"


def _entries(nested: list) -> list:
    """The Values of nested lists, row-major."""
    if type(nested[0]) is Value:
        return nested
    return [v for part in nested for v in _entries(part)]


def _fold(entries: list, sizes: tuple[int, ...]) -> list:
    """A row-major list as nested lists of `sizes`."""
    if len(sizes) == 1:
        return entries
    width = math.prod(sizes[1:])
    return [_fold(entries[i : i + width], sizes[1:]) for i in range(0, len(entries), width)]


@saveable
class Conv1d(_ConvNd):
    """A 1-d convolution (PyTorch's cross-correlation) over an example of in_channels x length.

    `out[o][t] = bias[o] + sum_{i,k} weight[o][i][k] * x[i][t * stride - padding + k * dilation]`,
    the zero padding included; the output is out_channels x L_out with
    `L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1`.
    `weight` is out_channels x in_channels x kernel_size, `bias` out_channels long, all from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kernel_size (PyTorch's
    default), weights then biases, from `random.Random(seed)` (the global `random` when None).

    >>> conv = Conv1d(1, 2, kernel_size=3, padding=1, seed=0)
    >>> conv
    Conv1d(1, 2, kernel_size=(3,), stride=(1,), padding=(1,))
    >>> out = conv([[1.0, 2.0, 3.0, 4.0]])
    >>> len(out), len(out[0]), len(conv.parameters())
    (2, 4, 8)
    """

    dims = 1


@saveable
class Conv2d(_ConvNd):
    """A 2-d convolution (PyTorch's cross-correlation) over in_channels x height x width.

    As Conv1d along each of the two axes: `kernel_size`, `stride`, `padding` and `dilation` are
    each an int or a (height, width) pair. `weight` is out_channels x in_channels x kernel height
    x kernel width; fan_in = in_channels * kernel height * kernel width.

    >>> conv = Conv2d(1, 3, kernel_size=(2, 3), seed=0)
    >>> conv
    Conv2d(1, 3, kernel_size=(2, 3), stride=(1, 1))
    >>> out = conv([[[0.0] * 5 for _ in range(4)]])
    >>> len(out), len(out[0]), len(out[0][0])
    (3, 3, 3)
    """

    dims = 2
