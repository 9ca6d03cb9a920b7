"""Micro-batching: the texts of concurrent requests tagged together, in one onnxruntime batch.

Requests put their texts in one bounded queue per model and await a future per
text. One task per model takes up to `max_batch` texts whenever the model is
free, first waiting up to `max_wait` seconds for more when fewer are there, and
tags them on the model's own thread, so the event loop never waits on the model.
Under load, texts gather while the previous batch runs, so batches fill without
waiting. A text's result does not depend on its batch (the models' "same answers"
guarantee), so batching changes speed, never answers.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from coextract.runtime.spans import Extraction


class QueueFull(Exception):
    """The model's queue has no room for a request's texts: the server answers 503."""


@dataclass(frozen=True)
class Pending:
    text: str
    future: asyncio.Future


class MicroBatcher:
    """The queue and batching task of one model."""

    def __init__(
        self,
        tag: Callable[[list[str]], Sequence[Extraction]],
        max_batch: int,
        max_wait: float,
        max_queue: int,
        on_batch: Callable[[int], None] = lambda size: None,
    ):
        self.tag, self.max_batch, self.max_wait, self.max_queue = tag, max_batch, max_wait, max_queue
        self.on_batch = on_batch  # told each batch's size (metrics)
        self.pending: deque[Pending] = deque()
        self.arrived = asyncio.Event()
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="coextract-model")
        self.task: asyncio.Task | None = None
        self.busy = False  # a batch is on the model

    @property
    def depth(self) -> int:
        """Texts waiting for the model."""
        return len(self.pending)

    async def start(self) -> None:
        """Tag one text (the first call loads the preprocessor), then take requests."""
        await asyncio.get_running_loop().run_in_executor(self.thread, self.tag, ["Warm up."])
        self.task = asyncio.get_running_loop().create_task(self.run())

    def submit(self, texts: Sequence[str]) -> list[asyncio.Future]:
        """Queue `texts` (all or none): a future per text, in order."""
        if len(self.pending) + len(texts) > self.max_queue:
            raise QueueFull
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in texts]
        self.pending.extend(Pending(text, future) for text, future in zip(texts, futures, strict=True))
        self.arrived.set()
        return futures

    async def gather(self) -> list[Pending]:
        """The next batch: up to `max_batch` live texts, after waiting up to `max_wait` for a full one."""
        deadline = time.monotonic() + self.max_wait
        while len(self.pending) < self.max_batch and (left := deadline - time.monotonic()) > 0:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                break
        batch = [self.pending.popleft() for _ in range(min(self.max_batch, len(self.pending)))]
        return [item for item in batch if not item.future.done()]  # a timed-out request's texts are dropped

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.pending:
                self.arrived.clear()
                await self.arrived.wait()
            batch = await self.gather()
            if not batch:
                continue
            self.on_batch(len(batch))
            self.busy = True
            try:
                results = await loop.run_in_executor(self.thread, self.tag, [item.text for item in batch])
            except Exception as err:  # the model failed: every request in the batch hears it
                results = [err] * len(batch)
            finally:
                self.busy = False
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    (item.future.set_exception if isinstance(result, Exception) else item.future.set_result)(
                        result
                    )

    async def stop(self) -> None:
        """Answer what is queued, then stop (the server has stopped taking requests)."""
        while self.pending or self.busy:
            await asyncio.sleep(0.01)
        if self.task:
            self.task.cancel()
        self.thread.shutdown(wait=True)
