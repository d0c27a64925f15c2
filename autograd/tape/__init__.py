"""The compiler: `trace(f, *examples)` records f's graph once, then replays it as array operations.

`tracing` records f and its decisions (guards); `program` holds what was recorded; `levels` groups
the nodes into layers of like operations; `steps` and `batch_rules` run each layer on arrays;
`outputs` shapes the results; `tape` is the `Tape` a user calls. `arrays` (NumPy) and
`torch_backend` (PyTorch tensors) are the array backends. Only `autograd.trace` and the names
`autograd` re-exports are public; NumPy is imported only once a tape is made.
"""
