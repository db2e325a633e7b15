"""A build's embedding on a Dask cluster (``index build --cluster tcp://HOST:8786``).

Dask's distributed scheduler hands the chunks to its workers, on any number
of machines, and runs a lost worker's tasks again on the others; each chunk
is gathered as soon as it finishes and checkpointed by the caller, so a lost
worker costs only the chunks it had not returned. Workers load the model
themselves (the project and the model, or ``ARTICLE_SEARCH_MODEL``, must be
installed there); the index is written where the build runs.
"""

from __future__ import annotations

import socket
import uuid
from typing import TYPE_CHECKING, Any, Callable

from indexer.index.errors import IndexStoreError
from indexer.semantic.model import load_encoder

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CLUSTER_ENV", "CONNECT_TIMEOUT", "Cluster", "ClusterError", "embed_on_worker"]

#: The scheduler to embed on when ``--cluster`` is not given.
CLUSTER_ENV = "ARTICLE_SEARCH_CLUSTER"
#: Seconds to reach the scheduler, and then to see a first worker, before giving up.
CONNECT_TIMEOUT = 10.0
#: Chunks sent ahead per worker thread.
AHEAD = 3
FIX = "start it with `dask scheduler` and `dask worker ADDRESS` on each machine, or fix --cluster / ARTICLE_SEARCH_CLUSTER"

Finished = Callable[[int, "np.ndarray", str], None]


class ClusterError(IndexStoreError):
    """The Dask cluster cannot embed this build's articles; the message says what to do."""


class Cluster:
    """A connection to a Dask scheduler that has at least one worker."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(
                "--cluster needs Dask's distributed package: pip install 'article-search[cluster]' here and on each worker"
            ) from None
        self.address = address
        _probe(address, timeout)
        try:
            self.client: Any = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({_brief(error)}): {FIX}") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as error:
            self.close()
            raise ClusterError(f"the Dask scheduler at {address} has no worker ({_brief(error)}): start `dask worker {address}` on each machine") from None

    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def embed(self, work: list[list[str]], finished: Finished, model: str) -> None:
        """Embed each list of texts on a worker; call ``finished(number, vectors, worker)`` as each returns.

        At most :data:`AHEAD` chunks per worker thread are sent ahead, so the
        scheduler holds a few chunks' texts, not the corpus, and a worker that
        joins mid-build is given work.
        """
        from distributed import as_completed

        build = uuid.uuid4().hex[:8]
        waiting = iter(enumerate(work))
        sent: dict[Any, int] = {}
        done = as_completed(loop=self.client.loop)

        def send() -> None:
            for number, texts in waiting:
                future = self.client.submit(embed_on_worker, texts, key=f"embed-{build}-{number}", pure=False)
                sent[future] = number
                done.add(future)
                return

        try:
            for _ in range(self.slots() * AHEAD):
                send()
            for future in done:
                try:
                    vectors, used, worker = future.result()
                except Exception as error:  # raised on the worker, or every worker that ran it died
                    raise ClusterError(
                        f"a Dask worker could not embed: {_brief(error)}; install article-search and its embedding model "
                        "on every worker (or set ARTICLE_SEARCH_MODEL there)"
                    ) from None
                if used != model:
                    raise ClusterError(f"the Dask worker {worker} has another embedding model ({used}) than this build ({model}): "
                                       "install the same model on every worker")
                finished(sent.pop(future), vectors, worker)
                future.release()
                send()
        finally:
            self.client.cancel(list(sent))

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except (OSError, TimeoutError):
            pass


def embed_on_worker(texts: list[str]) -> tuple["np.ndarray", str, str]:
    """Run on a Dask worker: the texts' vectors, the model that made them, and the worker's name."""
    from distributed import get_worker

    encoder = load_encoder()
    try:
        worker = str(get_worker().name)
    except ValueError:  # not on a worker (a local test cluster's thread)
        worker = "?"
    return encoder.encode(texts), encoder.name, worker


def _probe(address: str, timeout: float) -> None:
    """Fail at once, in one line, on an address that is not a scheduler's or where nothing listens.

    (Dask's client would retry a refused connection for the whole timeout, then
    print a second error when the half-made client is collected.)
    """
    scheme, _, place = address.rpartition("://")
    host, _, port = place.rpartition(":")
    if scheme not in ("", "tcp", "tls") or not host or not port.isdigit() or "/" in place:
        raise ClusterError(f"{address!r} is not a Dask scheduler address: give --cluster tcp://HOST:PORT (a scheduler listens on 8786)")
    if scheme == "tls":
        return  # the client does the handshake
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({_brief(error)}): {FIX}") from None


def _brief(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
