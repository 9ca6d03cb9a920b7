"""Bring the bundled model folders up to this version's rules, from the files they hold.

    python pipelines/migrate_bundles.py [--models-dir export/models]

The bundles' torch runs are not in the repository (the MiniLM tier's were
trained on a lent GPU), so this works on the folders themselves:

- Every folder is sealed again (`model_folder.meta_seal`: the graph carries a
  digest of what meta.json says the model is), a MiniLM-tier folder records its
  LICENSE's sha256 and licence, and meta.json names the encoder by name, not by
  the path of the machine that trained it. Graph weights do not change.
- A graph quantized with one activation scale per onnxruntime call (answers
  that depend on the batch) is re-quantized with one scale per token: its int8
  weights are turned back into a float graph, which `int8.ship_int8_alone`
  quantizes, measures on dev and ships by the bundle rule, judged against the
  dev scores of the float graph it was first quantized from.
"""

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from coextract.evaluation.benchmark import default_data_dir
from coextract.evaluation.evaluate import Benchmark
from coextract.runtime.model_folder import LICENSE, file_sha256, read_meta, tier
from coextract.training.export import license_name
from coextract.training.graph import seal
from coextract.training.int8 import INT8, ship_int8_alone
from coextract.training.model_card import model_card
from coextract.training.quantize_graph import drop_unused_initializers

ROOT = Path(__file__).resolve().parents[1]


def run_dir_of(folder: Path) -> Path:
    """The run folder the card says the model was exported from."""
    found = re.search(
        r"Exported with `coextract export (\S+) --output", (folder / "MODEL_CARD.md").read_text()
    )
    return Path(found[1])


def corrected_meta(folder: Path, meta: dict) -> dict:
    """meta.json with the encoder by name and its LICENSE recorded (MiniLM tier)."""
    if tier(meta) == "minilm":
        meta["train"]["encoder"] = Path(meta["train"]["encoder"]).name
        meta["files_sha256"][LICENSE] = file_sha256(folder / LICENSE)
        meta["encoder_license"] = license_name((folder / LICENSE).read_text())
    return meta


def reseal(folder: Path) -> None:
    """Seal a folder's graphs to its corrected meta.json and write the card again."""
    meta = corrected_meta(folder, read_meta(folder))
    for name in ("model.onnx", INT8):
        if (folder / name).is_file():
            seal(folder / name, meta)
    (folder / "MODEL_CARD.md").write_text(model_card(meta, run_dir_of(folder), folder.relative_to(ROOT)))


def float_graph(int8_path: Path, float_path: Path) -> None:
    """A float graph computing with the dequantized weights of a dynamically quantized one: each
    DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul chain becomes one MatMul."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(int8_path))
    graph = model.graph
    constants = {w.name: numpy_helper.to_array(w) for w in graph.initializer}
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    nodes, replaced = [], set()
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            nodes.append(node)
            continue
        inputs = [dequantized(graph, constants, name) for name in node.input[:2]]
        (cast,) = readers[node.output[0]]
        (scaled,) = readers[cast.output[0]]
        nodes.append(helper.make_node("MatMul", inputs, [scaled.output[0]]))
        replaced |= {id(cast), id(scaled)}
    kept = [n for n in nodes if n.op_type != "DynamicQuantizeLinear" and id(n) not in replaced]
    used = {name for n in kept for name in n.input} | {o.name for o in graph.output}
    kept = [n for n in kept if any(o in used for o in n.output)]  # the scale products, now unread
    del graph.node[:]
    graph.node.extend(kept)
    drop_unused_initializers(graph)
    onnx.save(model, str(float_path))


def dequantized(graph, constants: dict, name: str) -> str:
    """The float tensor a quantized MatMulInteger input stands for: an activation's own name, or a
    constant (q - zero_point) * scale added to the graph."""
    from onnx import numpy_helper

    base = name.removesuffix("_quantized")
    if name not in constants:
        return base  # a DynamicQuantizeLinear output: the float activation it read
    q, zero = constants[name].astype(np.float32), constants[f"{base}_zero_point"].astype(np.float32)
    scale = constants[f"{base}_scale"].astype(np.float32)
    value = (q - zero) * scale  # one scale, or one per output channel (the last axis)
    graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), f"{base}_dequantized"))
    return f"{base}_dequantized"


def requantize(folder: Path, data_dir: Path) -> None:
    """Re-quantize a bundle whose int8 graph scales activations per call (see the module docstring)."""
    meta = corrected_meta(folder, read_meta(folder))
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for name in ("tokenizer.json", LICENSE):
            shutil.copy(folder / name, staging / name)
        float_graph(folder / "model.onnx", staging / "model.onnx")
        meta["onnx_scores"] = meta.pop("float_onnx_scores")  # the float graph it was first quantized from
        meta["weights"] = "float16 values (rounded at export), computed in float32"
        del meta["int8"]
        meta["files_sha256"].pop("model.onnx")
        seal(staging / "model.onnx", meta)
        meta = ship_int8_alone(staging, run_dir_of(folder), meta, Benchmark.read(data_dir, meta["dataset"]))
        meta["int8"]["made_by"] = "python pipelines/migrate_bundles.py"
        if not meta["int8"]["shipped"]:
            raise SystemExit(
                f"{folder.name}: int8 lost {100 * meta['int8']['largest_f1_loss']:.2f} dev points"
            )
        shutil.copy(staging / "model.onnx", folder / "model.onnx")
        (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        (folder / "MODEL_CARD.md").write_text(model_card(meta, run_dir_of(folder), folder.relative_to(ROOT)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(
        f"{folder.name}: {json.dumps({k: meta['int8'][k] for k in ('largest_f1_loss', 'speedup_vs_fp32')})}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, default=ROOT / "export" / "models")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    for folder in sorted(p.parent.resolve() for p in args.models_dir.glob("*/meta.json")):
        int8 = read_meta(folder).get("int8", {})
        if int8.get("shipped_as") == "model.onnx" and "scheme" not in int8:
            requantize(folder, args.data_dir or default_data_dir())
        else:
            reseal(folder)
        print(f"{folder.name}: sealed")


if __name__ == "__main__":
    main()
