"""Training settings: `TrainConfig`, and the per-dataset defaults that dev chose (`recommended_config`)."""

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    dataset: str = "res14"
    seed: int = 1
    embeddings: tuple[str, ...] = ("domain",)  # which *_embedding.npy files, side by side
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    max_epochs: int = 40
    patience: int = 8  # epochs without dev improvement before stopping
    ema_decay: float = 0.0  # evaluate and keep an exponential moving average of the weights; 0 = off
    average_top: int = 5  # also try the mean weights of the k best epochs on dev; kept if dev prefers it
    max_train_sentences: int | None = None  # a slice of train, for quick tests
    raw_files: tuple[str, ...] = ()  # train on raw SemEval files (XML + opinions, or CMLA 2015 pair) instead
    model: dict = field(default_factory=dict)  # CMLAConfig (or MiniLMConfig) overrides
    encoder: str = ""  # a Hugging Face BERT folder: train the MiniLM tier over it; "" = the fast tier
    encoder_learning_rate: float = 5e-5  # the pretrained encoder's own, lower learning rate
    warmup: float = 0.1  # MiniLM tier: share of the steps over which learning rates rise linearly
    soft_targets: str = ""  # a teacher model (folder or bundled name) to distill from; "" = gold tags only
    distill_weight: float = 0.5  # with soft_targets: the teacher's share of the loss
    device: str = "cpu"  # where to train: "cpu", or "cuda" for a GPU (same steps, other rounding)
    relations: bool = True  # also learn aspect sentiments and pairs, where aste-v2 holds the dataset
    relation_weight: float = 0.3  # the sentiment and pair losses' weight beside the tags' (dev chose it)
    init_from: str = ""  # a run folder whose weights training starts from (what it lacks starts fresh)


# Settings that dev F1 preferred over the TrainConfig and CMLAConfig defaults, per
# dataset (the sweep is in benchmarks/README.md). `coextract train` starts here.
_SLOWER_LEARNING = {"learning_rate": 5e-4, "patience": 10, "max_epochs": 60}
_CONV_FINE_TUNED = {"conv_kernels": (3, 5), "freeze_embeddings": False}
RECOMMENDED: dict[str, dict] = {
    "res14": {**_SLOWER_LEARNING, "model": _CONV_FINE_TUNED},
    "lap14": {**_SLOWER_LEARNING, "model": _CONV_FINE_TUNED},
    "res15": {**_SLOWER_LEARNING, "embeddings": ("domain", "glove"), "model": _CONV_FINE_TUNED},
}


# The MiniLM tier's settings (12 epochs, as in the probe of issue 17), how each dataset's words
# are read from their pieces (dev's choice over 5 seeds of each), and the dataset's word vectors
# beside the encoder's states with a BiGRU over both (dev's choice over 8 seed pairs); both in
# benchmarks/README.md.
MINILM: dict = {"max_epochs": 12, "patience": 12, "learning_rate": 1e-3}
MINILM_POOLING: dict[str, str] = {"res14": "mean", "lap14": "first", "res15": "mean"}
MINILM_MODEL: dict = {"word_vectors": True, "recurrent": True}


def recommended_config(dataset: str, encoder: str = "") -> TrainConfig:
    """A fresh TrainConfig with the dev-chosen settings for `dataset` (the MiniLM tier's with `encoder`)."""
    if encoder:
        pooling = MINILM_POOLING.get(dataset, "first")
        model = {**MINILM_MODEL, "word_pooling": pooling}
        return TrainConfig(dataset=dataset, encoder=encoder, **MINILM, model=model)
    settings = RECOMMENDED.get(dataset, {})
    return TrainConfig(dataset=dataset, **{**settings, "model": dict(settings.get("model", {}))})
