"""Training and export, with torch (the `[train]` extra); nothing torch-free imports this package.

- `model`: CMLA in one module, the forward pass readable as the maths.
- `encoder`: a BERT encoder read from a local Hugging Face folder (the MiniLM tier's).
- `minilm`: the MiniLM tier's network: CMLA's coupled layers over the encoder's word states.
- `checkpoint`: a training run folder: write it, read it back, run it as a backend.
- `config`: the training settings and the per-dataset defaults dev chose.
- `tiers`: what differs between the tiers in training (model, featurizer, optimizer).
- `train`: train on a benchmark dataset, select on dev.
- `export`: a run folder -> an ONNX model folder, verified against torch.
- `weights`: how exported weights are stored (float16 values; the int8 attempt).
- `model_card`: the model card of an exported model, from `MODEL_CARD.template.md`.
"""
