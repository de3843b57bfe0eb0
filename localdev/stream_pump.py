"""Deliver the table's stream to the app's handler, as Lambda does in AWS.

`chalice local` serves HTTP routes only; in AWS an event source mapping reads
the DynamoDB stream and invokes ``handle_table_stream``. Locally this pump
does the same against moto's DynamoDB Streams, under the same
``STREAM_POLICY`` as the stage's mapping:

- batches of at most ``batch_size`` records, in shard order, at least once;
- the handler's ``batchItemFailures``: the records before the first failed one
  are checkpointed, delivery starts again from it;
- a handler that raises: the batch is split in two (``bisect``) until the
  failing record is alone;
- a record that failed ``maximum_retry_attempts`` retries, or is older than
  ``maximum_record_age_s``, is given up: an on-failure record (the shape of
  Lambda's, ``DDBStreamBatchInfo``) goes to the failed-records queue and the
  shard moves past it.

Retries wait ``retry_backoff_s``, doubling per attempt; ``wait_until`` lets a
caller wait for an outcome instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from chalicelib.orders.follow_ups import STREAM_POLICY
from chalicelib.platform.stream_records import StreamPolicy

logger = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    window: int  # records per delivery; halved by bisection, reset by a success
    pending: list[dict[str, Any]] = field(default_factory=list)  # read, not yet checkpointed
    attempts: int = 0  # failed deliveries of pending[0]
    not_before: float = 0.0  # monotonic time of the next delivery (backoff)


class StreamPump:
    def __init__(
        self,
        table_name: str,
        handler: Callable[[dict[str, Any], Any], Any],
        interval_s: float = 0.3,
        policy: StreamPolicy = STREAM_POLICY,
        failed_records_queue_url: str | None = None,
        retry_backoff_s: float = 0.5,
        starting_position: str = "LATEST",
        function_name: str = "handle_table_stream",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table_name = table_name
        self.handler = handler
        self.interval_s = interval_s
        self.policy = policy
        self.failed_records_queue_url = failed_records_queue_url
        self.retry_backoff_s = retry_backoff_s
        self.starting_position = starting_position
        self.function_name = function_name
        self.clock = clock
        self.batches = 0  # handler invocations
        self.given_up = 0  # on-failure records sent
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StreamPump:
        streams = boto3.client("dynamodbstreams")
        self.stream_arn = boto3.client("dynamodb").describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        shards = [
            _Shard(s["ShardId"], self._iterator(streams, s["ShardId"]), self.policy.batch_size)
            for s in streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        ]
        self._thread = threading.Thread(target=self._run, args=(streams, shards), daemon=True, name="stream")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``condition()`` holds after a delivery, or the timeout passes."""
        with self._changed:
            return self._changed.wait_for(condition, timeout=timeout_s)

    def _iterator(self, streams: Any, shard_id: str) -> str:
        found = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self.starting_position
        )
        return str(found["ShardIterator"])

    # -- the loop ------------------------------------------------------------
    def _run(self, streams: Any, shards: list[_Shard]) -> None:
        while not self._stop.is_set():
            busy = False
            for shard in shards:
                if shard.not_before <= time.monotonic():
                    busy = self._step(streams, shard) or busy
            if busy:
                with self._changed:
                    self._changed.notify_all()
            elif self._stop.wait(self.interval_s):
                return

    def _step(self, streams: Any, shard: _Shard) -> bool:
        """Deliver one batch of the shard; False when there was nothing to deliver."""
        if not shard.pending:
            self._read(streams, shard)
        expired = self._drop_expired(shard)
        if not shard.pending:
            return expired
        batch = shard.pending[: shard.window]
        try:
            response = self.handler({"Records": batch}, None)
        except Exception:
            logger.exception("the stream handler failed on %d records", len(batch))
            self._function_error(shard, batch)
        else:
            self._delivered(shard, batch, self._first_failed(batch, response))
        finally:
            self.batches += 1
        return True

    def _read(self, streams: Any, shard: _Shard) -> None:
        if shard.iterator is None:
            return  # the shard is closed and read to its end
        try:
            page = streams.get_records(ShardIterator=shard.iterator, Limit=self.policy.batch_size)
        except Exception:
            logger.exception("could not read the table's stream")
            return
        shard.pending.extend(page["Records"])
        shard.iterator = page.get("NextShardIterator")

    # -- outcomes --------------------------------------------------------------
    def _first_failed(self, batch: list[dict[str, Any]], response: Any) -> int | None:
        """Index of the first record the handler asks to retry; None: all done.

        As Lambda does, an identifier that is not in the batch fails it whole.
        """
        if not self.policy.report_batch_item_failures or not isinstance(response, dict):
            return None
        failed = {str(f.get("itemIdentifier")) for f in response.get("batchItemFailures") or []}
        if not failed:
            return None
        sequence = [str(r["dynamodb"]["SequenceNumber"]) for r in batch]
        return min((i for i, seq in enumerate(sequence) if seq in failed), default=0)

    def _delivered(self, shard: _Shard, batch: list[dict[str, Any]], failed_at: int | None) -> None:
        if failed_at is None:
            self._checkpoint(shard, len(batch))
            shard.window = self.policy.batch_size
            return
        self._checkpoint(shard, failed_at)
        self._retry_or_give_up(shard, 1, function_error=False)

    def _function_error(self, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        if self.policy.bisect_batch_on_function_error and len(batch) > 1:
            shard.window = len(batch) // 2  # retry the first half alone, then the rest
            return
        self._retry_or_give_up(shard, len(batch), function_error=True)

    def _retry_or_give_up(self, shard: _Shard, size: int, function_error: bool) -> None:
        shard.attempts += 1
        if shard.attempts <= self.policy.maximum_retry_attempts:
            backoff = min(self.retry_backoff_s * 2 ** (shard.attempts - 1), MAX_BACKOFF_S)
            shard.not_before = time.monotonic() + backoff
            return
        given_up = shard.pending[:size]
        if self._send_on_failure(shard, given_up, "RetryAttemptsExhausted", shard.attempts, function_error):
            self._checkpoint(shard, size)

    def _drop_expired(self, shard: _Shard) -> bool:
        """Give up the records older than the policy allows; True if there were any."""
        oldest = self.clock() - self.policy.maximum_record_age_s
        expired = 0
        while expired < len(shard.pending) and _arrival(shard.pending[expired]) < oldest:
            expired += 1
        if expired and self._send_on_failure(shard, shard.pending[:expired], "RecordAgeExceeded", 0, False):
            self._checkpoint(shard, expired)
        return expired > 0

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        if count:
            del shard.pending[:count]
            shard.attempts = 0

    # -- on-failure destination --------------------------------------------------
    def _send_on_failure(
        self, shard: _Shard, records: list[dict[str, Any]], condition: str, invokes: int, function_error: bool
    ) -> bool:
        """Record the records given up on; False if the queue could not be reached."""
        message = self.on_failure_record(shard.shard_id, records, condition, invokes, function_error)
        logger.warning("gave up on %d stream records: %s", len(records), json.dumps(message))
        if self.failed_records_queue_url:
            try:
                boto3.client("sqs").send_message(
                    QueueUrl=self.failed_records_queue_url, MessageBody=json.dumps(message)
                )
            except Exception:
                logger.exception("could not record the records given up on; trying again")
                return False
        self.given_up += 1
        return True

    def on_failure_record(
        self, shard_id: str, records: list[dict[str, Any]], condition: str, invokes: int, function_error: bool
    ) -> dict[str, Any]:
        """What Lambda sends to a stream mapping's on-failure destination: no record data."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{_region()}:000000000000:function:{self.function_name}",
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if function_error else {}),
            },
            "version": "1.0",
            "timestamp": _iso(self.clock()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": str(first["SequenceNumber"]),
                "endSequenceNumber": str(last["SequenceNumber"]),
                "approximateArrivalOfFirstRecord": _iso(_arrival(records[0])),
                "approximateArrivalOfLastRecord": _iso(_arrival(records[-1])),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }


def _arrival(record: dict[str, Any]) -> float:
    """When the record entered the stream, in epoch seconds."""
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()
    return float(created) if created is not None else time.time()


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _region() -> str:
    return str(boto3.session.Session().region_name or "us-east-1")
