"""What the test tiers and the benchmarks share, and nothing that is itself a test.

keys.py (signing keys and tokens for the verifier's tests), ports.py (free
loopback ports), running_shop.py (the shop started as `make run` starts it,
its demo users, the browser's flags), contract_checks.py (what schemathesis
checks of the API), stream_records.py (DynamoDB stream records as Lambda
delivers them), stubbed_cloudformation.py (CloudFormation's answers for the
deploy tests), memory_stores.py (in-memory stores for the rules' unit tests).

Nothing here imports a test module (tests/unit/test_architecture.py).
"""
