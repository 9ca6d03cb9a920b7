"""How the exported weights are stored: float16 values, and the int8 attempt.

`round_to_half` rounds the model's weights to float16 values before export, so
that `store_half` can store them in half the bytes without changing them again
and the verification against torch checks exactly the weights that ship.
`write_int8` quantizes an exported model's matrix products to int8 (`quantize_graph`).
"""

from pathlib import Path

import numpy as np
import torch

from coextract.training.model import CMLA
from coextract.training.quantize_graph import quantize_per_token

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


def write_int8(model_path: Path, int8_path: Path) -> None:
    """Quantize a model's matrix products to int8: weights of 7 bits, one scale per output channel;
    activations with one scale per token, from the token's own values, so that a review's answer
    does not depend on its batch or the CPU (`quantize_graph`). Per channel kept the MiniLM tier's
    dev F1 within 0.1 where one scale per matrix lost 2.2 aspect points (res14, benchmarks/README.md).

    The float16 storage of `store_half` is undone first, so the products' weights are plain float32
    initializers, and redone on the weights left in float32 (GRUs, convolutions, embeddings).
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(model_path))
    halves = {w.name: w for w in model.graph.initializer if w.data_type == TensorProto.FLOAT16}
    for cast in [n for n in model.graph.node if n.op_type == "Cast" and n.input[0] in halves]:
        weight = halves[cast.input[0]]
        weight.CopyFrom(
            numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float32), cast.output[0])
        )
        model.graph.node.remove(cast)
    quantize_per_token(model)
    onnx.save(model, str(int8_path))
    store_half(int8_path)
