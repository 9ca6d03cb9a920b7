"""Every batch and chunk size of tagging, in one place, with the reason for each.

A review travels: corpus file -> a chunk of `CHUNK` records (one task for a worker
process) -> spaCy preprocessing, `PREPROCESS_BATCH` texts per call -> model batches
of `MODEL_BATCH` sentences (corpus tagging) or `PIPE_BATCH` (`Tagger.pipe`, the
spaCy component, evaluation) -> onnxruntime calls of at most `PART_ROWS` rows and
`TOKENS_PER_ROW` padded tokens per row, of sentences of similar length (`PAD_RATIO`). `Tagger.pipe` reads `PIPE_CHUNK` batches
of inputs at a time; the corpus tagger hands it whole chunks instead, which it
tags as they are.
"""

CHUNK = 512  # records per task sent to a corpus worker; at most 2 * workers chunks are in flight

# Sentences per model batch when tagging a corpus. onnxruntime runs a batch as calls of at
# most PART_ROWS sentences under a padded-token cap, so a batch of 64 keeps the largest call,
# and so each worker's peak memory, as small as the common ones.
MODEL_BATCH = 64

PIPE_BATCH = 256  # default sentences per model batch of `Tagger.pipe` and the spaCy component
PIPE_CHUNK = 8  # `Tagger.pipe` preprocesses and tags PIPE_CHUNK * batch_size inputs at a time

# Most sentences per onnxruntime call: each thread runs its part of a batch in calls this size,
# which keeps each recurrent step's data in cache (benchmarks/README.md, inference speed).
PART_ROWS = 32

# MiniLM tier: most rows x pieces x pieces per onnxruntime call (32 rows of 128 pieces). The encoder's
# attention grows with the square of the pieces: 32 rows of 502 pieces took 3.2 GB at batch 256.
PIECE_CELLS = 32 * 128 * 128

# A batch holds at most `batch_size * TOKENS_PER_ROW` padded tokens. Without the cap, the rare
# batch of long sentences sets the size of onnxruntime's memory arena, which then grows with
# the corpus as longer batches turn up (benchmarks/README.md, batch tagging).
TOKENS_PER_ROW = 32

# A batch's sentences are at most PAD_RATIO times the shortest one's length, plus PAD_SLACK words:
# every row is padded to the batch's longest, and a batch of 256 spanning 15 to 80 words spent most
# of its time on padding (the MiniLM tier's attention grows with the square of it). Bounding it:
# Tagger.pipe +20 % reviews/s in the fast tier, +39 % in the MiniLM tier (benchmarks/padding.py).
PAD_RATIO = 1.25
PAD_SLACK = 2

PREPROCESS_BATCH = 256  # texts per spaCy `nlp.pipe` call; the tokenizer-only pipeline is not sensitive to it

PARQUET_READ_ROWS = 4096  # rows per batch read from an input parquet file
PARQUET_WRITE_ROWS = 10_000  # rows per row group of an output parquet file
