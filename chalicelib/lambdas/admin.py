"""The admin function's Lambda entry (see chalicelib/lambdas/__init__.py)."""

from chalicelib.api import admin, shop_app

app = shop_app(admin.bp)
