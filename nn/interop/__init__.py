"""nn's models to and from PyTorch (`pytorch`: `to_torch`, `from_torch`; the architecture half in
`torch_structure`, the torch twins of micrograd's networks in `torch_modules`) and to ONNX
(`onnx_export`, over the graph builder `onnx_graph` and the recurrent graphs of `onnx_recurrent`).
PyTorch and onnx are extras, imported when a function is called; `nn` re-exports the three names.
"""
