"""The search function's Lambda entry (see chalicelib/lambdas/__init__.py)."""

from chalicelib.api import search, shop_app

app = shop_app(search.bp)
