"""What every feature shares, and nothing else of the shop.

errors.py (domain errors, their status and code, without chalice), config.py
(the stage's settings, failing fast), aws.py (what AWS's errors mean: busy,
refused, cancelled), keys.py (every DynamoDB key), cursor.py (opaque page
cursors), stream_records.py (the table's stream as its readers see it),
schema.py (the base of every API schema), user_text.py (the rules of every
text field), folding.py, observability.py and metrics.py (one JSON log line
per request or batch; embedded metrics).

This package imports nothing else of the shop (tests/unit/test_architecture.py).
"""
