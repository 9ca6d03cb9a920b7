"""A model folder: read and check its files, open its ONNX graph (`model_names` finds it).

A model folder (written by `coextract export`, or bundled as package data) holds
`model.onnx` and `meta.json`: the label scheme, the scores the model earned and
what the graph reads. The fast tier's graph reads word ids and sub-word hashes
(meta.json holds the vocabulary and the hashing); the MiniLM tier's reads word
pieces, cut by the encoder's `tokenizer.json` beside it (meta.json says
`"tier": "minilm"`), and word ids too where the model reads word vectors beside
its encoder (`reads_word_vectors`: meta.json then holds the vocabulary).
Everything here fails with a `CoextractError` naming the file, because a model
fed the wrong ids fails silently. (`model_files` moves a folder's files as bytes.)

`open_model` checks that the files belong together before anything is tagged:
meta.json records the sha256 of each ONNX file (and of tokenizer.json and
LICENSE) it was exported with, and each ONNX graph carries, in its own metadata,
the facts of the inputs it was built for (`graph_facts`), which must equal
meta.json's. Among them is `meta_seal`, a sha256 over everything in meta.json
that changes what the model predicts or says it is (labels, tier, dataset, the
network and training settings, the vocabulary's digest), so an edited meta.json
or a graph of another model is refused even where its file digests were redone.
"""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from coextract.errors import CoextractError
from coextract.runtime.features import SUBWORD_FEATURES

FORMAT = "coextract-onnx/1"
MODEL_FILES = ("model.onnx", "meta.json")  # what a tagger reads from every model folder
TOKENIZER = "tokenizer.json"  # and from a MiniLM-tier folder: the encoder's word pieces
LICENSE = "LICENSE"  # a MiniLM-tier folder's encoder licence, which travels with its weights
OPTIONAL_FILES = ("model.int8.onnx", TOKENIZER, LICENSE)
GRAPH_KEY = "coextract"  # prefix of the facts an exported graph carries in its metadata
INPUTS = {  # the graph's inputs, by tier
    "fast": ("word_ids", "subword_ids", "mask"),
    "minilm": ("piece_ids", "piece_mask", "word_starts", "mask"),
}
WORD_IDS = "word_ids"  # after the MiniLM tier's INPUTS, in a graph that reads the dataset's word vectors too
OUTPUTS = ("aspect_probs", "opinion_probs", "aspect_attention", "opinion_attention")
RELATION_OUTPUTS = ("sentiment_probs", "pair_probs")  # after OUTPUTS, from a model with relation heads


def tier(meta: dict) -> str:
    """The tier of a model folder's meta.json ("fast" where it says none: exported before the MiniLM tier)."""
    return meta.get("tier", "fast")


def gives_relations(meta: dict) -> bool:
    """Whether a model folder's graph has relation heads (sentiments and pairs; `RELATION_OUTPUTS`)."""
    return bool(meta.get("model", {}).get("relations"))


def reads_word_vectors(meta: dict) -> bool:
    """Whether a MiniLM-tier model reads the dataset's word vectors beside its encoder (by `WORD_IDS`,
    through the vocabulary in its meta.json)."""
    return tier(meta) == "minilm" and bool(meta.get("model", {}).get("word_dim"))


def graph_inputs(tier_name: str, word_vectors: bool) -> tuple[str, ...]:
    """The names of a graph's inputs, in order: its tier's, then `WORD_IDS` where a MiniLM-tier model
    reads word vectors too (the fast tier's INPUTS start with it)."""
    return (*INPUTS[tier_name], *((WORD_IDS,) if word_vectors and tier_name == "minilm" else ()))


def vocabulary_hash(vocabulary: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(vocabulary).encode("utf-8")).hexdigest()


def read_meta(model_dir: Path) -> dict:
    path = model_dir / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CoextractError(
            f"{path}: missing; a model folder needs the meta.json written by 'coextract export'"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CoextractError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or tier(meta) not in INPUTS:
        raise CoextractError(f"{path}: not {FORMAT} metadata of a fast or minilm tier model")
    if tier(meta) == "minilm":  # its tokenizer.json is checked against files_sha256 by `open_model`
        return check_vocabulary(path, meta, set()) if reads_word_vectors(meta) else meta
    check_vocabulary(path, meta, {"n_buckets", "subword_features"})
    if tuple(meta["subword_features"]) != SUBWORD_FEATURES[: len(meta["subword_features"])]:
        raise CoextractError(f"{path}: sub-word features {meta['subword_features']} are not this version's")
    return meta


def check_vocabulary(path: Path, meta: dict, other_keys: set[str]) -> dict:
    """Refuse a meta.json without its vocabulary, its sha256 or `other_keys`, or whose vocabulary was
    altered since export; return it."""
    missing = {"vocabulary", "vocabulary_sha256", *other_keys} - set(meta)
    if missing:
        raise CoextractError(f"{path}: not {FORMAT} metadata (missing: {', '.join(sorted(missing))})")
    if vocabulary_hash(meta["vocabulary"]) != meta["vocabulary_sha256"]:
        raise CoextractError(f"{path}: vocabulary does not match its sha256; the file was altered or damaged")
    return meta


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# What meta_seal covers: every key of meta.json that changes a prediction or says what the model is.
SEALED_KEYS = (
    "format", "tier", "dataset", "data_fingerprint", "labels", "decoding", "encoder", "encoder_license",
    "model", "train", "vocabulary_sha256", "n_buckets", "subword_features",
)  # fmt: skip
SEAL = f"{GRAPH_KEY}.meta_sha256"


def meta_seal(meta: dict) -> str:
    """sha256 over the SEALED_KEYS of a meta.json (the vocabulary through its own digest)."""
    sealed = {key: meta.get(key) for key in SEALED_KEYS}
    return hashlib.sha256(json.dumps(sealed, sort_keys=True).encode("utf-8")).hexdigest()


def graph_facts(meta: dict) -> dict[str, str]:
    """What the ONNX graph's metadata must say about the inputs it reads, given its meta.json."""
    if tier(meta) == "minilm":
        tokenizer = meta["files_sha256"][TOKENIZER]
        facts = {f"{GRAPH_KEY}.tier": "minilm", f"{GRAPH_KEY}.tokenizer_sha256": tokenizer}
        if reads_word_vectors(meta):
            facts[f"{GRAPH_KEY}.vocabulary_size"] = str(len(meta["vocabulary"]))
    else:
        facts = {
            f"{GRAPH_KEY}.vocabulary_size": str(len(meta["vocabulary"])),
            f"{GRAPH_KEY}.n_buckets": str(meta["n_buckets"]),
            f"{GRAPH_KEY}.n_subword_features": str(len(meta["subword_features"])),
        }
    return {**facts, SEAL: meta_seal(meta)}


def open_model(model_dir: Path, quantized: bool = False) -> tuple[dict, ort.InferenceSession]:
    """The checked meta and an onnxruntime session of a model folder (see the module docstring)."""
    meta, name = read_meta(model_dir), "model.int8.onnx" if quantized else "model.onnx"
    path, meta_path = model_dir / name, model_dir / "meta.json"
    if quantized and not path.exists():
        if meta.get("int8", {}).get("shipped_as") == "model.onnx":
            raise CoextractError(
                f"{model_dir}: its one graph, model.onnx, is the int8 one already; load it without quantized=True"
            )
        raise CoextractError(
            f"{model_dir}: no int8 model ships here (no {name}); load it without quantized=True"
        )
    for checked in [path, *(model_dir / name for name in recorded_files(meta) if name != path.name)]:
        check_recorded(checked, meta_path, meta)
    session = open_session(path, graph_inputs(tier(meta), reads_word_vectors(meta)), gives_relations(meta))
    check_facts(session.get_modelmeta().custom_metadata_map, path, meta_path, meta)
    return meta, session


def recorded_files(meta: dict) -> list[str]:
    """The files besides the graphs whose sha256 meta.json records: tokenizer.json and LICENSE (a MiniLM
    tier's tokenizer must be recorded, so a folder without it is refused by `check_recorded`)."""
    names = [name for name in meta.get("files_sha256", {}) if name in (TOKENIZER, LICENSE)]
    return sorted({*names, TOKENIZER}) if tier(meta) == "minilm" else names


def check_facts(found: dict[str, str], path: Path, meta_path: Path, meta: dict) -> None:
    """Refuse a graph whose metadata does not say what meta.json says. A folder exported before the
    seal (`meta_seal`) existed has it in neither file; its other facts are still checked. A sealed
    meta.json (it records its seal as "meta_sha256") takes only a graph sealed to it."""
    expected = graph_facts(meta)
    if SEAL not in found and "meta_sha256" not in meta:
        del expected[SEAL]
    wrong = [f"{key} {found.get(key)} in the graph, {value} in meta.json" for key, value in expected.items()
             if found.get(key) != value]  # fmt: skip
    if wrong:
        raise CoextractError(
            f"{path} was not built for {meta_path}: {'; '.join(wrong)} (an edited meta.json, or the graph "
            "of another model); export the model again"
        )


def check_recorded(path: Path, meta_path: Path, meta: dict) -> None:
    """Refuse a file whose sha256 is not the one meta.json recorded for it at export."""
    expected = meta.get("files_sha256", {}).get(path.name)
    if expected is None:
        raise CoextractError(
            f"{meta_path}: records no sha256 of {path.name} (written by an older coextract, or by hand); "
            "export the model again with 'coextract export'"
        )
    if not path.is_file():
        if path.name in (TOKENIZER, LICENSE):
            raise CoextractError(
                f"{path}: missing; this model folder was exported with its encoder's {path.name}, "
                "which must travel with its weights"
            )
        return  # a missing graph is onnxruntime's error, with its own words
    if file_sha256(path) != expected:
        raise CoextractError(
            f"{path} does not belong with {meta_path}: its sha256 is not the one recorded at export "
            "(the folder mixes files of different models, or a file was altered); export the model again"
        )


def open_session(path: Path, inputs: tuple[str, ...], relations: bool) -> ort.InferenceSession:
    """A one-thread session; `Tagger` gets its parallelism by running several at once."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own types for missing, truncated or foreign files
        raise CoextractError(
            f"{path}: cannot be loaded as an ONNX model ({type(err).__name__}: {err})"
        ) from None
    names, expected = (
        tuple(o.name for o in session.get_outputs()),
        (*OUTPUTS, *(RELATION_OUTPUTS if relations else ())),
    )
    if names != expected:
        raise CoextractError(f"{path}: outputs {names} are not {expected}, the ones meta.json's model gives")
    if tuple(i.name for i in session.get_inputs()) != inputs:
        raise CoextractError(f"{path}: inputs are not {inputs}, the ones meta.json's model reads")
    return session
