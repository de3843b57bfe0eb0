"""The shop's code, deployed in every function's package. A map:

    api/        the HTTP and event entry points: one Chalice blueprint per
                deployed function, request parsing (http.py), the one error
                mapping and what every answer carries (responses.py), the
                OpenAPI document; nothing below it knows of Chalice
    lambdas/    each API function's own Lambda entry in a packaged stage
    bootstrap   the composition root: builds boto3 clients, the table, the
                verifier, the search index reader once per container, lazily
    catalog/    products: their schema, the rules of editing them, their table
    search/     the tantivy index derived from the table's stream, and search
    orders/     purchase, cancel and idempotency (one transaction each), and
                the follow-ups of an order from the stream (mail, counters,
                low-stock alerts)
    accounts/   who the caller is: the JWT verifier, the identity it yields, /me
    photos/     product photos: what a product records of one, the
                content-addressed keys of its renditions, and the pipeline
                (Pillow, in the image function only) that makes them
    platform/   what every feature shares and nothing else: domain errors
                (without chalice), settings, DynamoDB keys, cursors, the reader
                of AWS's errors, the stream's records, logs and metrics

A request: API Gateway -> the authorizer (api/authorizer.py, verifying with
accounts/verifier.py) -> the function's blueprint (e.g. api/purchase.py)
parses the request into a typed model, calls one feature function with what
bootstrap built (e.g. orders.checkout.place_order) and turns its result, or
the domain error it raised, into the answer (api/responses.py).

Arrows point one way (tests/unit/test_architecture.py): api -> features ->
platform; features never import chalice, api or bootstrap; nothing here
imports the local tooling (localdev/) or the operator tooling (infra/).
"""
