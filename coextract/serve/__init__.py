"""`coextract serve`: the models over HTTP, with micro-batching, limits and metrics (`[serve]` extra).

- `protocol`: settings, the extract request and its checks, the answer's bytes.
- `batcher`: one bounded queue and batching task per model.
- `metrics`: Prometheus metrics.
- `app`: the FastAPI app (`create_app`).
"""
