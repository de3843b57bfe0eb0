"""Deliver the table's stream to the app's handler, as Lambda does in AWS.

`chalice local` serves HTTP routes only; in AWS an event source mapping reads
the DynamoDB stream and invokes ``handle_table_stream``. Locally this pump
does the same against moto's DynamoDB Streams: it polls every shard from the
moment the stack started (LATEST), hands each batch to the handler, and on a
failure retries the same batch (at-least-once, like the mapping), so the
handler's idempotency is exercised for real.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3

logger = logging.getLogger(__name__)


class StreamPump:
    def __init__(self, table_name: str, handler: Callable[[dict[str, Any], Any], Any], interval_s: float = 0.3) -> None:
        self.table_name = table_name
        self.handler = handler
        self.interval_s = interval_s
        self.batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StreamPump:
        streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        iterators = [
            streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]
            for s in shards
        ]
        self._thread = threading.Thread(target=self._run, args=(streams, iterators), daemon=True, name="stream")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self, streams: Any, iterators: list[str]) -> None:
        while not self._stop.wait(self.interval_s):
            for position, iterator in enumerate(iterators):
                iterators[position] = self._pump(streams, iterator)

    def _pump(self, streams: Any, iterator: str) -> str:
        try:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
        except Exception:
            logger.exception("could not read the table's stream")
            return iterator
        if page["Records"]:
            try:
                self.handler({"Records": page["Records"]}, None)
                self.batches += 1
            except Exception:
                logger.exception("the stream handler failed; the batch will be delivered again")
                return iterator
        return str(page.get("NextShardIterator") or iterator)
