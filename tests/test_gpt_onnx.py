"""nn.GPT to ONNX (`export_onnx`, run by onnxruntime): one file serves any batch and sequence
length, its logits nn's to 1e-10 in float64, and it refuses tokens it has no row for. No torch is
needed, so these run wherever onnxruntime installs (on Python 3.10 too, where torch may not)."""

import random

import pytest
from gpt_cases import CONFIGS, assert_close, nn_logits, randomized

from nn import GPT, export_onnx


@pytest.fixture(scope="module")
def onnxruntime():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def run_onnx(onnxruntime, path, tokens):
    import numpy

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": numpy.array(tokens, dtype="int64")})[0]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_one_onnx_file_gives_nns_logits_for_two_sequence_lengths(config, onnxruntime, tmp_path):
    model = randomized(GPT(9, 8, 8, 2, 2, **config, seed=0), seed=7)
    path = tmp_path / "gpt.onnx"
    onnx_model = export_onnx(model, path, dtype="float64")
    shape = onnx_model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in shape] == ["batch", "seq"]
    rng = random.Random(8)
    for length, batch in [(3, 2), (8, 1)]:
        tokens = [[rng.randrange(9) for _ in range(length)] for _ in range(batch)]
        logits = run_onnx(onnxruntime, path, tokens)
        assert logits.shape == (batch, length, 9) and logits.dtype == "float64"
        assert_close(logits.tolist(), [nn_logits(model, t) for t in tokens], 1e-10)


def test_a_float32_onnx_gpt_is_close_and_causal(onnxruntime, tmp_path):
    model = randomized(GPT.microgpt(6, seed=0), seed=9)
    path = tmp_path / "gpt32.onnx"
    export_onnx(model, path)  # float32, the default
    logits = run_onnx(onnxruntime, path, [[0, 1, 2, 3, 4], [0, 1, 2, 5, 5]])
    assert logits.dtype == "float32"
    assert_close(logits[0].tolist(), nn_logits(model, [0, 1, 2, 3, 4]), 1e-5)
    # the first three positions see the same tokens, whatever follows them
    assert abs(logits[0, :3] - logits[1, :3]).max() <= 1e-6
    assert abs(logits[0, 3:] - logits[1, 3:]).max() > 1e-3


def test_the_onnx_gpt_refuses_tokens_outside_the_vocabulary_and_too_long_sequences(
    onnxruntime, tmp_path
):
    path = tmp_path / "gpt.onnx"
    export_onnx(GPT(5, 4, 4, 2, 1, seed=0), path, dtype="float64")
    for tokens in ([[0, 5]], [[-1, 2]], [[0, 1, 2, 3, 4]]):
        with pytest.raises(Exception, match="out of data bounds|out of range|indices"):
            run_onnx(onnxruntime, path, tokens)


def test_no_matmul_reads_a_transpose_of_its_last_two_axes(tmp_path):
    """onnxruntime fuses such a Transpose into its FusedMatMul, which has no float64 kernel in
    onnxruntime 1.23 (the newest for Python 3.10). The Transposes the attention's MatMuls read
    move the heads' axis as well, which FusedMatMul cannot absorb."""
    onnx = pytest.importorskip("onnx")
    graph = export_onnx(GPT(5, 4, 4, 2, 1, seed=0), tmp_path / "gpt.onnx", dtype="float64").graph
    producers = {output: node for node in graph.node for output in node.output}
    perms = [
        tuple(onnx.helper.get_attribute_value(producers[name].attribute[0]))
        for node in graph.node
        if node.op_type == "MatMul"
        for name in node.input
        if name in producers and producers[name].op_type == "Transpose"
    ]
    # per block: the queries and values (batch, H, seq, d), the keys (batch, H, d, seq)
    assert sorted(perms) == [(0, 2, 1, 3), (0, 2, 1, 3), (0, 2, 3, 1)]
