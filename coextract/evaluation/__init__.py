"""Evaluation, torch-free: the benchmark data, gold terms in raw text, and exact-match span F1.

- `benchmark`: the tokenized ABSA benchmark (res14, lap14, res15) as `Example`s, its
  vocabularies and word vectors.
- `semeval`: the raw SemEval reviews with their gold terms as character spans.
- `metrics`: exact-match span precision, recall and F1, micro over a split.
- `evaluate`: a model's report on a benchmark split or on raw files.
"""
