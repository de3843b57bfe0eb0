"""Orders: decided on the server, atomically, idempotently.

order.py holds what a shopper sends (OrderIn) and what the shop keeps
(Order); checkout.py prices the lines from the catalog, writes the order, the
stock decrements and the idempotency record in one step, replays a retried
checkout, lists and cancels orders, through an ``OrderStore``
(order_store.py; ``DynamoOrderStore`` in order_table.py, one transaction per
step); follow_ups.py reacts to the table's stream: sales counters, the
buyer's confirmation, low-stock alerts, each once per stream event, marked
in an ``EventLedger`` (event_ledger.py).

POST /orders flows: api/purchase.py parses OrderIn and the Idempotency-Key ->
checkout.place_order() -> OrderStore.purchase(), one TransactWriteItems ->
201 (or the recorded order, for a retry) -> the stream ->
follow_ups.handle_records().
"""
