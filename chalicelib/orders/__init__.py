"""Orders: decided on the server, atomically, idempotently.

order.py holds what a shopper sends (OrderIn) and what the shop keeps
(Order); checkout.py prices the lines from the table, writes the order, the
stock decrements and the idempotency record in one transaction, replays a
retried checkout, lists and cancels orders; follow_ups.py reacts to the
table's stream: sales counters, the buyer's confirmation, low-stock alerts,
each once per stream event.

POST /orders flows: api/purchase.py parses OrderIn and the Idempotency-Key ->
checkout.place_order() -> TransactWriteItems -> 201 (or the recorded order,
for a retry) -> the stream -> follow_ups.handle_records().
"""
