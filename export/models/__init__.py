"""Bundled models: one folder per dataset, each with model.onnx, meta.json and MODEL_CARD.md."""
