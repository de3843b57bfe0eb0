"""Products: the catalog, one item per product.

product.py holds what the API takes and gives (ProductIn, ProductUpdate,
StockChange, Product); products.py the rules of creating, editing, stocking,
deleting and importing them, each write a single request, conditioned on the
product's ``version`` where an admin edits. The rules are given a
``ProductStore`` (product_store.py): ``DynamoProductStore``
(product_table.py) in the shop, an in-memory one in the unit tests. Search
(chalicelib/search/) and orders (chalicelib/orders/) read products through
this package.

An admin's PUT /products/{id} flows: api/admin.py parses ProductUpdate and
If-Match -> products.update_product() -> ProductStore.update(), one
conditional write -> the table's stream -> the search indexer.
"""
