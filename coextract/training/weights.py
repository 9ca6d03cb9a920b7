"""How the exported weights are stored: float16 values, and the int8 attempt.

`round_to_half` rounds the model's weights to float16 values before export, so
that `store_half` can store them in half the bytes without changing them again
and the verification against torch checks exactly the weights that ship.
`write_int8` quantizes an exported model with onnxruntime's dynamic quantization.
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from coextract.training.model import CMLA

HALF_MIN_ELEMENTS = 1024  # smaller weights are not worth a Cast node


def round_to_half(model: CMLA) -> None:
    """Round every weight to the nearest float16 value, kept in float32.

    The ONNX file can then store the weights in half the bytes (`store_half`)
    without changing them again, and the verification against torch checks
    exactly the weights that ship.
    """
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())


def store_half(path: Path) -> int:
    """Store the large float32 weights that float16 holds exactly as float16, each cast back by a node.

    onnxruntime folds the casts when it loads the model, so it still computes
    in float32. Weights float16 cannot hold (those the exporter derived from
    several parameters) stay float32. Returns the number of weights stored.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    casts = []
    for weight in model.graph.initializer:
        if weight.data_type != TensorProto.FLOAT or np.prod(weight.dims) < HALF_MIN_ELEMENTS:
            continue
        values = numpy_helper.to_array(weight)
        half = values.astype(np.float16)
        if np.array_equal(half.astype(np.float32), values):
            name = weight.name
            weight.CopyFrom(numpy_helper.from_array(half, f"{name}.float16"))
            casts.append(helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT))
    nodes = [*casts, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))
    return len(casts)


def matrix_products(model) -> list[str]:
    """The MatMul nodes of an ONNX model whose weight is a 2-D initializer: the ones int8 quantizes
    per output channel (onnxruntime cannot per channel the coupled attention's 3-D tensors)."""
    shapes = {w.name: len(w.dims) for w in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and shapes.get(n.input[1]) == 2]


def write_int8(model_path: Path, int8_path: Path) -> None:
    """Quantize a model's matrix products to int8 weights, one scale per output channel (onnxruntime
    dynamic quantization). Per channel kept the MiniLM tier's dev F1 within 0.1 where one scale per
    matrix lost 2.2 aspect points (res14, benchmarks/README.md).

    The quantizer needs the weights as plain float32 initializers, so the
    float16 storage of `store_half` is undone first, in a temporary copy, and
    redone on the weights it leaves in float32 (GRUs, convolutions).
    """
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(model_path))
    halves = {w.name: w for w in model.graph.initializer if w.data_type == TensorProto.FLOAT16}
    for cast in [n for n in model.graph.node if n.op_type == "Cast" and n.input[0] in halves]:
        weight = halves[cast.input[0]]
        weight.CopyFrom(
            numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float32), cast.output[0])
        )
        model.graph.node.remove(cast)
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice on pre-processing
    with tempfile.TemporaryDirectory() as workdir:
        float32_path = Path(workdir) / "model.onnx"
        onnx.save(model, str(float32_path))
        quantize_dynamic(
            str(float32_path),
            str(int8_path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_quantize=matrix_products(model),
        )
    store_half(int8_path)
