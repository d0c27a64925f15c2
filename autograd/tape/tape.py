"""`Tape`: a traced function (`autograd.trace`), replayed on floats or on whole batches of arrays.

A call fills the two tables of `autograd.levels` (arguments into the batch table, the parameters'
current values and the constants into the static table), runs the steps in order, checks the
guards after phase 0, and reads the outputs. A gradient call then runs the steps backwards from
the outputs' adjoints. Floats in gives a batch of one and floats out.

The tables are NumPy arrays, or PyTorch tensors on the arguments' device and in their dtype when
the arguments are tensors: the same steps, copied once per device and dtype with their index
arrays moved there (`autograd.tape_steps.on_backend`), run through that backend
(`autograd.torch_backend`), which is imported only then.
"""

from __future__ import annotations

import operator
import sys
import threading
from numbers import Real
from typing import Any, NamedTuple

import numpy as np

from autograd.drawing.graph import import_graphviz
from autograd.tape.arrays import NUMPY
from autograd.tape.levels import Level, compile_program
from autograd.tape.outputs import OutputRows
from autograd.tape.program import GuardError, Program
from autograd.tape.steps import on_backend
from autograd.value import Value

COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
NOT_DIFFERENTIABLE = (
    "{caller}: a tensor argument requires grad (in PyTorch's grad mode), but the gradients a "
    "tape gives are not differentiable by PyTorch, so they would drop out of its graph. In a "
    "PyTorch program call tape(X) and let PyTorch's backward() take the gradient (the tape joins "
    "its graph); for the tape's own gradients pass X.detach(), or call under torch.no_grad()"
)


class Cotangent(NamedTuple):
    """What a `Tape.vjp` pullback returns: d/d(argument) per argument (per example), and
    d/d(parameter) summed over the batch, in `tape.parameters` order (a NumPy array, or a tensor
    on the arguments' device when they are tensors)."""

    arguments: tuple
    parameters: Any


_NOT_SAVED = (
    "a Tape cannot be {what}: it holds compiled steps and array buffers, not a graph. Save or "
    "copy what it was traced from instead (the model, or the Values f closes over: both pickle "
    "and copy), and trace again with autograd.trace(f, *example_args) afterwards"
)


class Tape:
    """A function of `Value`s traced once (`autograd.trace`) and compiled to array operations.

    - `tape(*args)`: numbers (or lists of numbers) in, floats out; or NumPy arrays with the batch
      on axis 0 (shape (B,) in place of a number, (B, n) of a list of n), arrays out: (B,) for a
      Value, (B, m) for a list of m Values, in float64 or the arguments' narrower float (float32
      in, float32 out); or PyTorch tensors of those shapes (float64 or float32, all on one
      device), tensors out on that device in that dtype. Tensors that require grad make the call
      one operation of PyTorch's autograd, whose backward is the tape's pullback.
    - `tape.value_and_grad(*args, accumulate=None)`: the value and d(result)/d(argument) for each
      argument (per example in batch mode). `accumulate="sum"` or `"mean"` also adds the
      parameters' gradients, summed or averaged over the batch, into their `.grad`.
    - `outputs, pullback = tape.vjp(*args)`: the outputs, and a function from cotangents (the
      outputs' form) to the gradients of sum(cotangents * outputs) (a list result too), as JAX's.
    - `tape.parameters`: the Values `f` used without taking them as arguments (a model's weights),
      read afresh at every call, so an optimizer step needs no new trace; `params=` passes their
      values as an array instead (but for the Values of `autograd.fresh_numbers`, which are
      always read from their state). A parameter that is not a leaf (`u = w * 3`, closed over
      by f) passes its accumulated gradient on through its own graph, as `backward()` would.
      `tape.levels`: the compiled steps; `tape.draw()` draws them.

    >>> from autograd import Value, trace
    >>> w = Value(3.0)
    >>> tape = trace(lambda x: w * x * x, 1.0)
    >>> import numpy as np
    >>> tape(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> tape.value_and_grad(np.array([1.0, 2.0]), accumulate="sum")[1][0]
    array([ 6., 12.])
    >>> w.grad  # x**2 summed over the batch: 1 + 4
    5.0
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.parameters: list[Value] = list(program.parameters)
        self._non_leaves = any(p._op is not None for p in self.parameters)
        self._local = threading.local()
        build = compile_program(program)
        self.levels: list[Level] = build.levels
        self._steps = build.steps
        self._phase_0 = sum(1 for level in build.levels if level.phase == 0)
        self._sizes = (build.sizes[False], build.sizes[True])
        self._outputs = [build.row[i] for i in program.outputs]
        self._output_rows = OutputRows(self._outputs)
        self._guards = [
            (g, build.row[g.node], None if g.other_node is None else build.row[g.other_node])
            for g in program.guards
        ]
        nodes = program.nodes
        constants = [i for i, node in enumerate(nodes) if node.kind == "constant"]
        self._constants = np.array([nodes[i].value for i in constants], dtype=float)
        self._constant_rows = slice(len(self.parameters), len(self.parameters) + len(constants))
        self._backends: dict = {}  # backend -> (steps, constants, output rows) on its device
        widths = [1 if shape is None else shape for shape in program.shapes]
        self._argument_rows = np.cumsum([0, *widths]).tolist()
        fresh = {id(v) for values, _ in program.fresh for v in values}
        self._fresh_rows = [i for i, p in enumerate(self.parameters) if id(p) in fresh]

    def __repr__(self) -> str:
        args, outs = len(self.program.shapes), len(self.program.outputs)
        return (
            f"Tape({args} argument{'s' * (args != 1)} -> {outs} output{'s' * (outs != 1)}, "
            f"{len(self.program.nodes)} nodes in {len(self.levels)} steps, "
            f"{len(self.parameters)} parameters, {len(self._guards)} guards)"
        )

    # A tape holds compiled steps, array buffers per thread and backend, and the traced function's
    # decisions as guards: saving them would tie a file to this version's compiler. The model and
    # the function are what last; tracing again after loading rebuilds the tape.
    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(_NOT_SAVED.format(what="pickled"))

    def __copy__(self) -> Any:
        raise TypeError(_NOT_SAVED.format(what="copied"))

    def __deepcopy__(self, memo: dict) -> Any:
        raise TypeError(_NOT_SAVED.format(what="copied"))

    # --- calls ------------------------------------------------------------------------------------
    def __call__(self, *args: Any, params: np.ndarray | None = None) -> Any:
        """The outputs for `args` (see the class docstring for the forms)."""
        columns, batch, batched, backend, dtype = self._arguments(args, "tape")
        if backend is not NUMPY and backend.records(args, params):
            return self._in_torch_graph(args, params, backend)
        parameters = self._parameter_values(params)
        tables, _ = self._forward(columns, batch, batched, parameters, False, backend)
        return self._read_outputs(tables, batch, batched, backend, dtype)

    def value_and_grad(
        self, *args: Any, accumulate: str | None = None, params: np.ndarray | None = None
    ) -> tuple:
        """(value, gradients): d(result)/d(argument) for each argument, as `autograd.grad` gives
        them (per example in batch mode). `accumulate` adds the parameters' gradients ("sum" or
        "mean" over the batch) into their `.grad`.
        """
        if not self.program.single:
            raise TypeError(
                "Tape.value_and_grad: f returned a list of Values; the gradient needs one Value "
                "per example (use Tape.vjp with cotangents for a list)"
            )
        if accumulate not in (None, "sum", "mean"):
            raise ValueError(
                f"Tape.value_and_grad: accumulate must be 'sum', 'mean' or None, got {accumulate!r}"
            )
        columns, batch, batched, backend, dtype = self._arguments(args, "Tape.value_and_grad")
        if backend is not NUMPY and backend.records(args, params):
            raise RuntimeError(NOT_DIFFERENTIABLE.format(caller="Tape.value_and_grad"))
        if accumulate == "mean" and batch == 0:
            raise ValueError("Tape.value_and_grad: accumulate='mean' over an empty batch")
        outputs, pullback = self._vjp(columns, batch, batched, params, backend, dtype)
        found = pullback(np.ones(batch) if batched else 1.0)
        if accumulate is not None:
            scale = 1.0 / batch if accumulate == "mean" else 1.0
            gradients = (found.parameters * scale).tolist()
            if self._non_leaves:  # Values computed before tracing: on through their graphs
                _accumulate(self.parameters, gradients)
            else:
                for parameter, g in zip(self.parameters, gradients):
                    parameter.grad += g
        return outputs, found.arguments

    def vjp(self, *args: Any, params: np.ndarray | None = None) -> tuple[Any, Any]:
        """The outputs, and `pullback(cotangents)`: the gradient of sum(cotangents * outputs)
        with respect to each argument (per example) and to the parameters (summed over the batch),
        as a `Cotangent`. Cotangents have the outputs' form: a number or a list per call, or an
        array (B,) or (B, m). `pullback(cotangents, arguments=False)` skips the arguments'
        gradients (`.arguments` is then None): only the parameters'. The forward pass runs once;
        the pullback may be called many times, in the same thread, until the tape is called again.

        >>> from autograd import trace
        >>> outputs, pullback = trace(lambda x: [x * x, 3 * x], 1.0).vjp(2.0)
        >>> outputs, pullback([1.0, 0.0]).arguments, pullback([0.0, 1.0]).arguments
        ([4.0, 6.0], (4.0,), (3.0,))
        """
        columns, batch, batched, backend, dtype = self._arguments(args, "Tape.vjp")
        if backend is not NUMPY and backend.records(args, params):
            raise RuntimeError(NOT_DIFFERENTIABLE.format(caller="Tape.vjp"))
        return self._vjp(columns, batch, batched, params, backend, dtype)

    # --- the work ---------------------------------------------------------------------------------
    def _vjp(self, columns, batch, batched, params, backend, dtype) -> tuple[Any, Any]:
        parameters = self._parameter_values(params)
        tables, saved = self._forward(columns, batch, batched, parameters, True, backend)
        outputs = self._read_outputs(tables, batch, batched, backend, dtype)
        m = len(self._outputs)
        if batched:
            expected = (batch,) if self.program.single else (batch, m)
        else:
            expected = () if self.program.single else (m,)
        buffers = self._local.buffers
        generation, thread = buffers[1], threading.get_ident()

        def pullback(cotangents: Any, arguments: bool = True) -> Cotangent:
            stale = self._stale(buffers, generation, thread)
            if stale is not None:
                raise RuntimeError(stale)
            seeds = backend.asarray(cotangents)
            if tuple(seeds.shape) != expected:
                form = "a number" if self.program.single else f"a list of {m} numbers"
                form = f"shape {expected}" if batched else f"{form} (shape {expected})"
                raise ValueError(
                    f"pullback: cotangents must have {form}, like the outputs; got shape "
                    f"{tuple(seeds.shape)}"
                )
            seeds = seeds.reshape(batch, m).T if batched else seeds.reshape(m, 1)
            return self._backward(
                tables, buffers[4:6], saved, seeds, batch, batched, arguments, backend, dtype
            )

        return outputs, pullback

    def _stale(self, buffers: list, generation: int, thread: int) -> str | None:
        """Why a pullback whose tables are `buffers` at `generation` cannot run now, or None."""
        if threading.get_ident() != thread:
            return (
                "pullback: a tape keeps its tables per thread, and this pullback's are another "
                "thread's; call it in the thread that called tape.vjp"
            )
        if buffers[1] != generation or self._local.buffers is not buffers:
            return (
                "pullback: the tape has been called again since this pullback's vjp, and its "
                "tables now hold that call's numbers; call tape.vjp again"
            )
        return None

    def _in_torch_graph(self, args: tuple, params: Any, backend: Any) -> Any:
        """`tape(*args)` as one operation of PyTorch's autograd (`torch_backend.TapeFunction`),
        for tensors that require grad: its forward pass is `vjp`'s and its backward the pullback,
        so PyTorch's `backward()` reaches the arguments, and `params=` if it requires grad too.
        Where the pullback's tables have been reused since (the tape called again, or backward
        run in another thread), the backward pass runs the forward pass again first."""
        if not _is_tensor(params):
            params = backend.asarray(self._parameter_values(params))  # as read now

        def run(params: Any, args: tuple) -> tuple:
            columns, batch, batched, _, dtype = self._arguments(args, "tape")
            outputs, pullback = self._vjp(columns, batch, batched, params, backend, dtype)
            buffers, thread = self._local.buffers, threading.get_ident()
            generation = buffers[1]

            def pull(cotangents: Any, arguments: bool, params: Any, args: tuple) -> Cotangent:
                if self._stale(buffers, generation, thread) is not None:
                    return run(params, args)[1](cotangents, arguments, params, args)
                return pullback(cotangents, arguments)

            return outputs, pull

        return backend.join(run, params, args)

    def _backward(
        self, tables, adjoints, saved, seeds, batch, batched, arguments, backend, dtype
    ) -> Cotangent:
        backend.zero(adjoints[0])
        backend.zero(adjoints[1])
        adjoints = tuple(adjoints)
        self._output_rows_on(backend).seed(
            adjoints, backend.xp.broadcast_to(seeds, (len(self._outputs), batch))
        )
        describe = _describe(batch, batched)
        steps = self._on(backend)[0]
        with backend.quiet():
            for step, inputs in zip(reversed(steps), reversed(saved)):
                step.backward(tables, adjoints, inputs, describe, arguments)
        gradients = []
        for a, shape in enumerate(self.program.shapes if arguments else ()):
            block = adjoints[True][self._argument_rows[a] : self._argument_rows[a + 1]]
            if batched:
                block = block[0] if shape is None else block.T
                gradients.append(backend.copy(block) if dtype is None else block.astype(dtype))
            else:
                gradients.append(float(block[0, 0]) if shape is None else block[:, 0].tolist())
        found = tuple(gradients) if arguments else None
        return Cotangent(found, backend.copy(adjoints[False][: len(self.parameters), 0]))

    def _on(self, backend: Any) -> tuple[list, Any, OutputRows]:
        """The steps, the constants and the output rows for `backend`'s tables (made once per
        device and dtype)."""
        if backend is NUMPY:
            return self._steps, self._constants, self._output_rows
        found = self._backends.get(backend)
        if found is None:
            steps = [on_backend(step, backend) for step in self._steps]
            constants = backend.asarray(self._constants)
            found = self._backends[backend] = (steps, constants, self._output_rows.on(backend))
        return found

    def _output_rows_on(self, backend: Any) -> OutputRows:
        return self._on(backend)[2]

    def _buffers(self, batch: int, backend: Any) -> list:
        """This thread's tables for a batch size, reused from call to call: fresh arrays of this
        size cost page faults that take longer than the work. A pullback checks its generation."""
        found = getattr(self._local, "buffers", None)
        if found is None or found[0] != batch or found[-1] is not backend:
            shapes = [(self._sizes[0], 1), (self._sizes[1], batch)] * 2
            tables = (backend.empty(shape) for shape in shapes)
            found = self._local.buffers = [batch, 0, *tables, backend]
        found[1] += 1
        return found

    def _forward(self, columns, batch, batched, parameters, keep, backend) -> tuple:
        buffers = self._buffers(batch, backend)
        static, rows = buffers[2], buffers[3]
        steps, constants, _ = self._on(backend)
        if backend is not NUMPY:
            parameters = backend.asarray(parameters)  # to the device
        static[: len(self.parameters), 0] = parameters
        if self._fresh_rows:
            static[self._fresh_rows, 0] = backend.asarray(self._read_fresh())
        static[self._constant_rows, 0] = constants
        for a, column in enumerate(columns):
            rows[self._argument_rows[a] : self._argument_rows[a + 1]] = column
        tables = (static, rows)
        describe = _describe(batch, batched)
        saved = []
        with backend.quiet():
            for number, step in enumerate(steps):
                if number == self._phase_0:
                    self._check_guards(tables, batch, batched, backend)
                inputs = step.forward(tables, describe)
                if keep:
                    saved.append(inputs)
            if len(steps) == self._phase_0:
                self._check_guards(tables, batch, batched, backend)
        return tables, saved

    def _check_guards(self, tables: tuple, batch: int, batched: bool, backend: Any) -> None:
        for guard, (in_batch, row), other in self._guards:
            value = np.broadcast_to(backend.on_host(tables[in_batch][row]), (batch,))
            decision = guard.decision
            if decision.op in COMPARE:
                if other is not None:
                    against = backend.on_host(tables[other[0]][other[1]])
                    against = np.broadcast_to(against, (batch,))
                else:
                    against = np.full(batch, guard.other_number)
                wrong = COMPARE[decision.op](value, against) != decision.result
            else:
                traced = decision.result
                wrong = ~((value == traced) | (np.isnan(value) & (traced != traced)))
            if wrong.any():
                j = int(np.flatnonzero(wrong)[0])
                compared = float(against[j]) if decision.op in COMPARE else None
                example = j if batched else None
                raise GuardError(_guard_message(decision, float(value[j]), example, compared))

    def _read_outputs(
        self, tables: tuple, batch: int, batched: bool, backend: Any, dtype: Any
    ) -> Any:
        """The outputs: floats, or an array in the backend's dtype, or in `dtype` (NumPy
        arguments narrower than float64: computed in float64, returned in theirs)."""
        if batched and not self.program.single:
            found = self._output_rows_on(backend).read(tables, batch)
            return found if dtype is None else found.astype(dtype)
        found = [backend.xp.broadcast_to(tables[b][row], (batch,)) for b, row in self._outputs]
        if not batched:
            values = [float(v[0]) for v in found]
            return values[0] if self.program.single else values
        return backend.copy(found[0]) if dtype is None else found[0].astype(dtype)

    def _read_fresh(self) -> list[float]:
        """The numbers of `autograd.fresh_numbers`, read again into their Values: those the
        graph uses, in the order of `_fresh_rows`."""
        for values, read in self.program.fresh:
            for value, number in zip(values, read()):
                value.data = float(number)
        return [self.parameters[i].data for i in self._fresh_rows]

    def _parameter_values(self, params: Any) -> Any:
        """The parameters' values: read from the Values, or `params` (an array or a tensor)."""
        if params is None:
            return np.fromiter((p.data for p in self.parameters), float, len(self.parameters))
        if isinstance(params, np.ndarray) or not _is_tensor(params):
            params = np.asarray(params, dtype=float)
        if tuple(params.shape) != (len(self.parameters),):
            raise ValueError(
                f"tape: params must be an array of {len(self.parameters)} values (one per "
                f"tape.parameters), got shape {tuple(params.shape)}"
            )
        return params

    def _arguments(self, args: tuple, caller: str) -> tuple[list, int, bool, Any, Any]:
        """The arguments as columns of the batch table, the batch size, whether batched, the
        backend whose tables hold them, and the dtype the results go back in (None: the
        backend's own)."""
        shapes = self.program.shapes
        if len(args) != len(shapes):
            raise TypeError(
                f"{caller}: the traced function takes {len(shapes)} arguments, got {len(args)}"
            )
        arrays = [isinstance(a, np.ndarray) for a in args]
        if args and all(arrays):
            return (*_batch_columns(args, shapes, caller, NUMPY), NUMPY, _narrower_float(args))
        tensors = [_is_tensor(a) for a in args]
        if args and all(tensors):
            from autograd.tape.torch_backend import backend_of_arguments  # PyTorch, an extra

            backend = backend_of_arguments(args, caller)
            return (*_batch_columns(args, shapes, caller, backend), backend, None)
        if any(arrays) or any(tensors):
            raise TypeError(
                f"{caller}: pass every argument as a NumPy array, or every one as a PyTorch "
                "tensor (a batch), or none"
            )
        columns = [
            _scalar_column(arg, shape, position, caller)
            for position, (arg, shape) in enumerate(zip(args, shapes))
        ]
        return columns, 1, False, NUMPY, None

    def draw(self) -> Any:
        """The steps as a graphviz.Digraph: one box per step, arrows from what feeds it."""
        graph = import_graphviz().Digraph("tape", graph_attr={"rankdir": "LR"})
        sources = {s for level in self.levels for s in level.inputs if not s.startswith("step")}
        for source in sorted(sources):
            graph.node(source, source, shape="ellipse")
        for level in self.levels:
            plural = "s" * (level.nodes != 1)
            text = f"step {level.index}: {level.rule}\\n{level.nodes} node{plural}, "
            text += f"depth {level.depth}\\n{level.kind}"
            style = {"style": "filled", "fillcolor": "#dbe8f6" if level.batched else "#eeeeee"}
            graph.node(f"step {level.index}", text, shape="box", **style)
            for source in level.inputs:
                graph.edge(source, f"step {level.index}")
        return graph


def _accumulate(parameters: list[Value], gradients: list[float]) -> None:
    """Add the parameters' gradients into `.grad` as the eager engine's `backward` does: a leaf
    accumulates; a Value computed before tracing (`u = w * 3`, closed over by f) holds this call's
    adjoint and passes it on through its own graph to the nodes behind it (`w`)."""
    adjoint: dict[Value, Any] = {}
    for parameter, g in zip(parameters, gradients):
        if parameter._op is None:
            parameter.grad += g
        else:
            adjoint[parameter] = g
    # One sweep behind all of them, a node passing its adjoint on once every consumer there has
    # given it its share: an ancestor shared by several is complete before it passes on.
    seen, stack, consumers = set(adjoint), list(adjoint), {}
    while stack:
        for parent in stack.pop().parents:
            consumers[parent] = consumers.get(parent, 0) + 1
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    ready = [node for node in adjoint if node not in consumers]
    while ready:
        node = ready.pop()
        g = adjoint.pop(node, 0.0)
        if node._op is None:
            node.grad += g
        else:
            node.grad = g
        for parent, local in zip(node.parents, node.local_derivatives):
            adjoint[parent] = adjoint.get(parent, 0.0) + local * g
            consumers[parent] -= 1
            if not consumers[parent]:
                ready.append(parent)


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")  # not imported: no tensor can have been made
    return torch is not None and isinstance(x, torch.Tensor)


def _narrower_float(arrays: tuple) -> Any:
    """The dtype of NumPy arguments' results: the floating arguments' common dtype where it is
    narrower than float64 (float32, float16: a tape computes in float64 and hands back the
    caller's dtype, as on PyTorch), else None (float64; integer arguments count as float64)."""
    floating = [a.dtype for a in arrays if a.dtype.kind == "f"]
    if all(dtype.itemsize >= 8 for dtype in floating):  # float64 (or integers): most calls
        return None
    found = np.result_type(*floating)
    return found if found.itemsize < 8 else None


def _batch_columns(args: tuple, shapes: list, caller: str, backend: Any) -> tuple[list, int, bool]:
    batch = args[0].shape[0] if len(args[0].shape) else "B"
    columns = []
    for position, (arg, shape) in enumerate(zip(args, shapes)):
        expected = (batch,) if shape is None else (batch, shape)
        if tuple(arg.shape) != expected:
            form = str(expected).replace("'", "")  # (B,) when the first argument has no axis
            if position == 0:  # its batch is its own first axis: only the rest can be wrong
                form = "(B,)" if shape is None else f"(B, {shape})"
            one = ""
            if shape is not None and tuple(arg.shape) == (shape,):
                one = f"; for one example pass a list of {shape} numbers, or shape (1, {shape})"
            raise ValueError(
                f"{caller}: argument {position} must have shape {form} (the batch on axis 0, "
                f"as traced), got {tuple(arg.shape)}{one}"
            )
        if backend is NUMPY and arg.dtype.kind not in "fiu":  # complex, bool, str, object, ...
            raise TypeError(
                f"{caller}: argument {position} must be an array of real numbers (a float or "
                f"integer dtype), got dtype {arg.dtype}"
            )
        column = backend.asarray(arg)
        columns.append(column[None, :] if shape is None else column.T)
    return columns, batch, True


def _scalar_column(arg: Any, shape: int | None, position: int, caller: str) -> np.ndarray:
    """One call's argument as a column: a number, or a list of `shape` numbers."""
    is_list = isinstance(arg, (list, tuple))
    entries = list(arg) if is_list else [arg]
    numbers = all(isinstance(x, Real) and not isinstance(x, bool) for x in entries)
    if is_list != (shape is not None) or len(entries) != (shape or 1) or not numbers:
        expected = "a number" if shape is None else f"a list of {shape} numbers"
        raise TypeError(
            f"{caller}: argument {position} must be {expected} (as traced), got {arg!r:.80}"
        )
    return np.array(entries, dtype=float).reshape(-1, 1)


def _describe(batch: int, batched: bool) -> Any:
    if not batched:
        return lambda flat: None
    return lambda flat: f"example {flat % batch} of the batch"


def _guard_message(decision, value: float, example: int | None, against: float | None) -> str:
    where = f" for example {example} of the batch" if example is not None else ""
    if against is not None:
        return (
            f"tape: the decision {decision.op!r} at {decision.where} was {decision.result} when "
            f"f was traced, but{where} it is {not decision.result} (the Value is {value!r}, "
            f"compared with {against!r}). A tape holds only the branch taken while tracing: write "
            "the choice as a node (relu, abs, leaky_relu, max_values) so every input takes its "
            "own, or trace f again at an input on this side"
        )
    return (
        f"tape: {decision.op}() at {decision.where} read {decision.result!r} when f was traced, "
        f"but{where} the Value is {value!r}. f turned the Value into a plain number, which a tape "
        "cannot recompute: keep the computation on Values (comparisons are guarded; relu, abs, "
        "max_values are nodes), or compute the number outside f and pass it as an argument"
    )
