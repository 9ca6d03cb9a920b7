"""Rewrite a float ONNX graph's matrix products as int8 ones whose answer for a review is its own.

A quantized product needs a scale for its activations. onnxruntime's dynamic
quantization takes one per call, from the largest value in the whole batch, so
a review's numbers moved with the reviews beside it and with the padding (162 of
1,600 test sentences changed their spans between batch 1 and 256). Here each
token's row of activations gets its own scale and offset, computed from that row
alone, so a review's numbers are the same in any batch, on any thread count.

For every MatMul of X (B, T, K) by a 2-D weight W (K, N):

    lo, hi = min(X[b, t]), max(X[b, t])                  # (B, T, 1) each, per token
    s      = (hi - lo) / 255                             # the token's step
    q      = round((X - lo) / s)                         # uint8 in [0, 255]
    w      = max|W[:, n]| / 63 ; Wq = round(W / w)       # int8 in [-63, 63], per output channel
    X @ W  ~ s * (q @ Wq) * w + lo * (1 @ Wq) * w        # the second term: lo times W's column sums

The integer product q @ Wq is exact on every x86 CPU: weights of 7 bits keep
each pair of u8 x s8 products that AVX2's vpmaddubsw adds in 16 bits below
32,767 (255 * 63 * 2 = 32,130), so it never saturates there, and VNNI and AMX
add in 32 bits. (Weights of 8 bits would saturate on AVX2 only, and the same
graph would answer differently on another CPU.)
"""

import numpy as np

ACTIVATION_LEVELS = 255  # uint8 activations: 256 levels between a token's own min and max
WEIGHT_MAX = 63  # 7-bit weights: no 16-bit saturation on AVX2 (see the module docstring)
TINY = 1e-12  # the step of a row whose values are all equal


def quantize_weight(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W (K, N) float -> (Wq int8 (K, N) in [-WEIGHT_MAX, WEIGHT_MAX], w float32 (N,)): W ~ Wq * w."""
    largest = np.abs(weight).max(axis=0)
    scale = np.where(largest > 0, largest / WEIGHT_MAX, 1.0).astype(np.float32)
    return np.clip(np.rint(weight / scale), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8), scale


def constant(graph, name: str, value: np.ndarray) -> str:
    from onnx import numpy_helper

    graph.initializer.append(numpy_helper.from_array(value, name))
    return name


def quantized_activations(graph, x: str) -> tuple[list, tuple[str, str, str]]:
    """Nodes that quantize X row by row: (nodes, (q, s, lo)) with q uint8 and s, lo (B, T, 1)."""
    from onnx import TensorProto, helper

    p = f"{x}/per_token"
    nodes = [
        helper.make_node("ReduceMin", [x], [f"{p}/lo"], axes=[-1], keepdims=1),
        helper.make_node("ReduceMax", [x], [f"{p}/hi"], axes=[-1], keepdims=1),
        helper.make_node("Sub", [f"{p}/hi", f"{p}/lo"], [f"{p}/range"]),
        helper.make_node("Max", [f"{p}/range", "per_token/tiny"], [f"{p}/range_pos"]),
        helper.make_node("Div", [f"{p}/range_pos", "per_token/levels"], [f"{p}/step"]),
        helper.make_node("Sub", [x, f"{p}/lo"], [f"{p}/shifted"]),
        helper.make_node("Div", [f"{p}/shifted", f"{p}/step"], [f"{p}/scaled"]),
        helper.make_node("Round", [f"{p}/scaled"], [f"{p}/rounded"]),
        helper.make_node("Clip", [f"{p}/rounded", "per_token/zero", "per_token/levels"], [f"{p}/clipped"]),
        helper.make_node("Cast", [f"{p}/clipped"], [f"{p}/q"], to=TensorProto.UINT8),
    ]
    return nodes, (f"{p}/q", f"{p}/step", f"{p}/lo")


def quantized_product(graph, node, activations: tuple[str, str, str], weight: np.ndarray) -> list:
    """The nodes that replace MatMul `node` (X @ W) with the int8 product; same output name."""
    from onnx import TensorProto, helper

    q, step, lo = activations
    wq, w = quantize_weight(weight)
    p = f"{node.output[0]}/int8"
    column_sums = (wq.astype(np.int64).sum(axis=0) * w).astype(np.float32)
    constant(graph, f"{p}/weight", wq)
    constant(graph, f"{p}/weight_scale", w)
    constant(graph, f"{p}/column_sums", column_sums)
    return [
        helper.make_node("MatMulInteger", [q, f"{p}/weight"], [f"{p}/int32"]),
        helper.make_node("Cast", [f"{p}/int32"], [f"{p}/float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [f"{p}/float", f"{p}/weight_scale"], [f"{p}/by_weight"]),
        helper.make_node("Mul", [f"{p}/by_weight", step], [f"{p}/product"]),
        helper.make_node("Mul", [lo, f"{p}/column_sums"], [f"{p}/offset"]),
        helper.make_node("Add", [f"{p}/product", f"{p}/offset"], [node.output[0]]),
    ]


def quantize_per_token(model) -> int:
    """Rewrite, in place, every MatMul of `model` of an activation by a 2-D float initializer; returns
    how many. An activation that feeds several products (the attention's query, key and value) is
    quantized once; a product of two constants is left for onnxruntime to fold in float.
    """
    from onnx import numpy_helper

    graph = model.graph
    constants = {w.name: w for w in graph.initializer}
    constant(graph, "per_token/tiny", np.array(TINY, np.float32))
    constant(graph, "per_token/levels", np.array(ACTIVATION_LEVELS, np.float32))
    constant(graph, "per_token/zero", np.array(0.0, np.float32))
    nodes, quantized, count = [], {}, 0
    for node in graph.node:
        weight = product_weight(node, constants)
        if weight is None:
            nodes.append(node)
            continue
        x = node.input[0]
        if x not in quantized:
            activation_nodes, quantized[x] = quantized_activations(graph, x)
            nodes += activation_nodes
        nodes += quantized_product(graph, node, quantized[x], numpy_helper.to_array(weight))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    drop_unused_initializers(graph)
    return count


def product_weight(node, constants: dict):
    """The 2-D float weight of a MatMul of an activation by a constant, or None for any other node."""
    from onnx import TensorProto

    if node.op_type != "MatMul" or node.input[0] in constants:
        return None
    weight = constants.get(node.input[1])
    if weight is None or len(weight.dims) != 2 or weight.data_type != TensorProto.FLOAT:
        return None
    return weight


def drop_unused_initializers(graph) -> None:
    """Remove the float weights the int8 products replaced (and any other initializer no node reads)."""
    used = {name for node in graph.node for name in node.input}
    kept = [w for w in graph.initializer if w.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
