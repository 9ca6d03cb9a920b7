"""The server's Prometheus metrics, in a registry of its own (so that several apps in one process, as
in tests, do not collide): requests by endpoint and status, latency, batch sizes, queue depth."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("coextract_requests", "HTTP requests answered", ["endpoint", "status"], registry=self.registry)  # fmt: skip
        self.latency = Histogram("coextract_request_seconds", "time to answer a request", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)  # fmt: skip
        self.batch = Histogram("coextract_batch_texts", "texts per model batch", ["model"], buckets=BATCH_BUCKETS,
                               registry=self.registry)  # fmt: skip
        self.queue = Gauge(
            "coextract_queue_texts", "texts waiting for a model", ["model"], registry=self.registry
        )

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)
