"""The purchase function's Lambda entry (see chalicelib/lambdas/__init__.py)."""

from chalicelib.api import purchase, shop_app

app = shop_app(purchase.bp)
