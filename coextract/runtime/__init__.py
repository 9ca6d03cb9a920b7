"""The torch-free runtime: raw text or tokens in, aspect and opinion spans out.

What `pip install coextract` serves, in the order data flows through it:

- `documents`: `Document` and `ModelToken`, a review as the model reads it.
- `preprocess`: raw text -> `Document`s with the spaCy pipeline of `pipelines/preprocess.cfg`.
- `features`: tokens -> the integer arrays the fast tier reads (`Featurizer`, `Batch`).
- `pieces`: tokens -> the word pieces the MiniLM tier reads (`PieceFeaturizer`, `PieceBatch`).
- `predict`: any backend over many sentences -> per-token probabilities and tags.
- `decoding`: probabilities -> BIO tags -> token spans, one rule for every backend.
- `model_folder`: find, read and check a model folder; open its ONNX graph.
- `tagger`: `Tagger` and `load`: documents through onnxruntime into character `Span`s.
- `component`: the `coextract` spaCy component.
- `sizes`: every batch and chunk size, with its reason.
"""
