"""Deliver the uploads queue to the image function, as Lambda's SQS event source mapping does in AWS.

`chalice local` serves HTTP routes only; in AWS the uploads bucket reports
each new upload to the uploads queue, and an event source mapping invokes
``process_photo_uploads`` (chalicelib/api/images.py) one message at a time.
Locally the embedded S3 reports to the embedded queue in the same way
(localdev/resources.py, ``create_photo_storage``), and this pump plays the
mapping:

- one thread long-polls the queue (a short wait, so that a stop is quick)
  for as many messages as it has idle workers, and hands each to one;
- a worker calls ``process_message(body, receive_count)`` (the handler's
  plain entry, with the message's ``ApproximateReceiveCount``), then deletes
  the message; a handler that raises leaves it on the queue, so it comes back
  after the queue's visibility timeout, and after ``MAX_RECEIVES`` receives
  the queue itself moves it to the failed-events queue (its redrive policy;
  moto 5.2 applies it at the next receive, as SQS does);
- each outcome is logged and counted, and ``wait_until`` lets a caller wait
  for one instead of sleeping.

``PhotoProcesses`` runs the photo work (the image function, and the seeded
photos' drawing) in child processes at a lower priority, as Lambda runs a
function in a sandbox of its own: decoding and encoding photos then neither
holds the stack's GIL nor takes its cores from the API.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3

from chalicelib.api.images import MAX_RECEIVES, uploaded_keys

logger = logging.getLogger(__name__)
Handler = Callable[[str, int], Sequence[str]]  # process_message's shape: (body, receive count) -> outcomes
T = TypeVar("T")
POLL_WAIT_S = 1  # a receive's long poll: the longest a stop waits for the poller
NICENESS = 10  # the photo processes' priority below the stack's (the API's)


def process_message(body: str, receive_count: int) -> list[str]:
    """The image function's plain entry (imported when first called: it carries Pillow)."""
    from chalicelib.api import images

    return images.process_message(body, receive_count)


@dataclass(frozen=True)
class Delivery:
    """One message handed to the image function, and what became of it."""

    message_id: str
    keys: tuple[str, ...]  # the uploads it names
    receive_count: int
    outcomes: tuple[str, ...]  # the handler's, one per upload; empty if it raised
    error: str | None = None  # what the handler raised; the message stays on the queue

    @property
    def given_up(self) -> bool:
        """The handler raised on its last receive: the queue moves the message to the failed-events queue."""
        return self.error is not None and self.receive_count >= MAX_RECEIVES


class UploadPump:
    def __init__(self, queue_url: str, handler: Handler = process_message, workers: int = 2) -> None:
        self.queue_url = queue_url
        self.handler = handler
        self.workers = workers
        self.outcomes: Counter[str] = Counter()  # of every upload handled: ready, failed, gone, ignored
        self.errors = 0  # deliveries the handler raised on
        self.finished: dict[str, str] = {}  # upload key -> its outcome ("error" when given up on)
        self.deliveries: list[Delivery] = []
        self._sqs = boto3.client("sqs")
        self._idle = threading.Semaphore(workers)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="uploads")
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> UploadPump:
        self._thread = threading.Thread(target=self._poll, daemon=True, name="uploads-poller")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop receiving; the messages being handled are finished (the others stay on the queue)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=POLL_WAIT_S + 10)
        self._pool.shutdown(wait=True)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``condition()`` holds after a delivery, or the timeout passes."""
        with self._changed:
            return self._changed.wait_for(condition, timeout=timeout_s)

    def wait_for(self, keys: Sequence[str], timeout_s: float) -> dict[str, str]:
        """The outcome of each upload of ``keys``, once each is finished (AssertionError after the timeout)."""
        if not self.wait_until(lambda: all(key in self.finished for key in keys), timeout_s):
            missing = [key for key in keys if key not in self.finished]
            raise AssertionError(f"after {timeout_s} s, these uploads were still not processed: {missing}")
        return {key: self.finished[key] for key in keys}

    # -- the poller -------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.is_set():
            idle = self._take_idle_workers()
            if not idle:
                continue
            try:
                messages = self._receive(idle)
            except Exception:
                logger.exception("could not read the uploads queue; trying again")
                self._stop.wait(POLL_WAIT_S)
                messages = []
            for _ in range(idle - len(messages)):
                self._idle.release()
            for message in messages:
                self._pool.submit(self._deliver, message)

    def _take_idle_workers(self) -> int:
        """Wait (a moment at most) for an idle worker; take every idle one."""
        if not self._idle.acquire(timeout=POLL_WAIT_S):
            return 0
        taken = 1
        while taken < min(self.workers, 10) and self._idle.acquire(blocking=False):
            taken += 1
        return taken

    def _receive(self, count: int) -> list[dict[str, Any]]:
        found = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=POLL_WAIT_S,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return list(found.get("Messages", []))

    # -- a worker ---------------------------------------------------------------
    def _deliver(self, message: dict[str, Any]) -> None:
        body = str(message["Body"])
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        keys = tuple(uploaded_keys(body))
        try:
            outcomes = tuple(self.handler(body, receives))
        except Exception as exc:
            self._failed(Delivery(message["MessageId"], keys, receives, (), f"{type(exc).__name__}: {exc}"))
        else:
            try:
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            except Exception:  # it comes back, and is handled again harmlessly (photo_processing.py)
                logger.exception("could not delete a handled message from the uploads queue")
            self._done(Delivery(message["MessageId"], keys, receives, outcomes))
        finally:
            self._idle.release()

    def _done(self, delivery: Delivery) -> None:
        for key, outcome in zip(delivery.keys, delivery.outcomes, strict=False):
            log = logger.info if outcome == "failed" else logger.debug
            log("photo upload %s: %s", key, outcome if outcome != "failed" else "refused (its reason is on the photo)")
        self._record(delivery, dict(zip(delivery.keys, delivery.outcomes, strict=False)))

    def _failed(self, delivery: Delivery) -> None:
        if delivery.given_up:
            logger.error(
                "the image function failed on %s %d times (%s): the photo is marked failed, and the message "
                "goes to the failed-events queue",
                ", ".join(delivery.keys) or delivery.message_id,
                delivery.receive_count,
                delivery.error,
            )
        else:
            logger.warning(
                "the image function failed on %s (receive %d of %d: %s); it comes back after the visibility timeout",
                ", ".join(delivery.keys) or delivery.message_id,
                delivery.receive_count,
                MAX_RECEIVES,
                delivery.error,
            )
        self._record(delivery, dict.fromkeys(delivery.keys, "error") if delivery.given_up else {})

    def _record(self, delivery: Delivery, finished: dict[str, str]) -> None:
        with self._changed:
            self.deliveries.append(delivery)
            self.outcomes.update(delivery.outcomes)
            self.errors += delivery.error is not None
            self.finished.update(finished)
            self._changed.notify_all()


class PhotoProcesses:
    """Child processes for the photo work, at a lower priority than the stack's own.

    Started with ``spawn`` (the stack runs threads: a fork would copy their
    locks held), they inherit the environment as it is at their start (the
    embedded AWS's address, the stage's buckets and table), and import the
    parent's ``__main__`` again: a script that starts a stack must do so under
    ``if __name__ == "__main__":`` (``python -m localdev.local_stack`` does).
    A call that runs longer than ``timeout_s`` fails, as Lambda ends a
    function at its timeout (the message comes back; the child finishes it
    meanwhile). Ctrl-C is left to the stack, which stops them (``stop``).
    """

    def __init__(self, workers: int = 2, timeout_s: float | None = None) -> None:
        from infra.functions import by_key

        self.workers = workers
        self.timeout_s = timeout_s or by_key("images").timeout_s  # the deployed image function's
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_background_priority)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a child process (both picklable); what it raises is raised here.

        A child that died (killed, out of memory) fails what it ran, and new
        children take the next calls.
        """
        from concurrent.futures.process import BrokenProcessPool

        pool = self._pool
        try:
            future: Future[T] = pool.submit(function, *args)
            return future.result(timeout=self.timeout_s)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            raise

    def process_message(self, body: str, receive_count: int) -> list[str]:
        """The image function's plain entry, run in a child process (an ``UploadPump`` handler).

        A message that names no upload (S3's test event, sent when the bucket's
        notification is set at each start) has nothing to process: no child
        is started for it.
        """
        if not uploaded_keys(body):
            return []
        return self.run(process_message, body, receive_count)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _background_priority() -> None:
    """Each photo process's start: a lower priority, Ctrl-C left to the stack, and an end with the stack."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group: the stack stops us
    os.nice(NICENESS)
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()


def _end_with_parent(parent: int) -> None:
    """Exit once the stack is gone (killed: a crash, kill -9), which could not stop us.

    Without this a worker waits for work forever: it holds both ends of its
    call queue's pipe itself, so the stack's end closing tells it nothing.
    """
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def default_workers() -> int:
    """Photo processes for this machine: one per core, at most two (at their lower
    priority they take what the API and the embedded AWS leave idle)."""
    return max(1, min(2, os.cpu_count() or 1))
