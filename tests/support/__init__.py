"""What the test tiers and the benchmarks share, and nothing that is itself a test.

- ports.py: free loopback ports;
- waiting.py: ``eventually``, for what follows by seconds (the search index);
- keys.py: signing keys and tokens for the verifier's tests;
- stream_records.py: DynamoDB stream records as Lambda delivers them;
- stubbed_cloudformation.py: CloudFormation's answers for the deploy tests;
- cloudfront.py: a stage's CloudFront distribution, for the deploy and publish tests;
- memory_stores.py: in-memory stores for the rules' unit tests;
- api_calls.py: the functional tier's calls through Chalice's test client
  (a bearer header, a search and all its pages, a checkout);
- index_settling.py: what the search index and the table hold, and waiting
  until they hold the same products;
- running_shop.py: the shop started as `make run` starts it, its demo users,
  the browser's flags;
- shop_api.py: the running shop's REST API, to set up and check a browser test;
- spa_pages.py: what the browser tests do on the SPA's pages;
- contract_checks.py: what schemathesis checks of every answer of the API.

The conftest files hold fixtures built from these. Nothing here imports a
test module or a conftest (tests/unit/test_architecture.py).
"""
