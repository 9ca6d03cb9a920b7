"""Worker processes that each hold a tagger, and an ordered pool over them.

Each worker loads the model once (`start_worker`), ignores Ctrl-C (the parent
decides when to stop), and dies with its parent, even after kill -9. A model
that fails to load is reported by the worker's first task as the
`CoextractError` it raised, so the parent prints one clear line.
"""

import ctypes
import gc
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from coextract.errors import CoextractError
from coextract.runtime.tagger import Tagger, load

Item = TypeVar("Item")

_tagger: Tagger | CoextractError | None = None  # this worker's tagger, or why it could not be loaded


def resident_tagger(model: str, threads: int | None) -> Tagger:
    """A tagger with its spaCy pipeline loaded, for a process that tags until it ends.

    The model and the pipeline live as long as the process, so they are taken
    out of the garbage collector's rounds (`gc.freeze`): re-examining their
    objects each time tagging allocates cost about 7 % of the CPU time.
    """
    tagger = load(model, threads=threads)
    tagger("Warm up.")  # loads the spaCy pipeline now, so that it is frozen too
    gc.freeze()
    return tagger


def hide_torch() -> None:
    """Stop spaCy's thinc from importing torch in a process that only tags.

    Tagging never uses torch, but where the [train] extra is installed thinc
    imports it with spaCy, which costs about 180 MB per process. Only for
    processes coextract owns (the CLI, its workers): afterwards `import torch` fails.
    """
    sys.modules.setdefault("torch", None)


def end_with_parent() -> None:
    """Ask Linux to end this worker when its parent dies (even by kill -9); elsewhere a no-op."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_worker(model: str) -> None:
    global _tagger
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    end_with_parent()
    hide_torch()
    try:
        _tagger = resident_tagger(model, threads=1)
    except CoextractError as err:
        _tagger = err


def with_worker_tagger(function: Callable, item):
    """`function(item, tagger)` with this worker's tagger (run in the worker)."""
    if isinstance(_tagger, CoextractError):
        raise _tagger
    return function(item, _tagger)


def ordered_map(
    function: Callable[[Item, Tagger], object], items: Iterable[Item], workers: int, model: str
) -> Iterator[tuple[Item, object]]:
    """(item, function(item, tagger)) on worker processes, in input order, at most 2 * workers in flight."""
    with ProcessPoolExecutor(workers, initializer=start_worker, initargs=(model,)) as pool:
        pending: deque[tuple] = deque()
        for item in items:
            pending.append((item, pool.submit(with_worker_tagger, function, item)))
            if len(pending) >= 2 * workers:
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()
