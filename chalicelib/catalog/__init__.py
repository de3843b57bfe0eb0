"""Products: the catalog in the table, one item per product.

product.py holds what the API takes and gives (ProductIn, ProductUpdate,
StockChange, Product); products.py the rules of creating, editing, stocking,
deleting and importing them, each write a single request, conditioned on the
product's ``version`` where an admin edits. Search (chalicelib/search/) and
orders (chalicelib/orders/) read products through this package.

An admin's PUT /products/{id} flows: api/admin.py parses ProductUpdate and
If-Match -> products.update_product() -> one conditional write -> the
table's stream -> the search indexer.
"""
