"""What the search index and the table hold, and waiting until they hold the same products."""

from __future__ import annotations

from typing import Any

import tantivy
from boto3.dynamodb.conditions import Attr

from chalicelib import bootstrap
from chalicelib.catalog.products import Table
from chalicelib.platform import keys
from chalicelib.search.index import SearchIndex
from tests.support.waiting import eventually


def index_ids(index: SearchIndex) -> set[str]:
    """Every product id of one index version."""
    found = index.searcher.search(tantivy.Query.all_query(), limit=max(index.size, 1))
    return {index.searcher.doc(address)["id"][0] for _, address in found.hits}


def table_ids(table: Table) -> set[str]:
    """Every product id of the table (a Scan: the truth the index is derived from)."""
    request: dict[str, Any] = {"FilterExpression": Attr("SK").eq(keys.PRODUCT_SK), "ProjectionExpression": "id"}
    ids: set[str] = set()
    while True:
        page = table.scan(**request)
        ids |= {item["id"] for item in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return ids
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def settled(table: Table) -> None:
    """Wait until the session's index holds exactly the table's products (the
    stream may still carry the deletions of an earlier test's products)."""
    eventually(lambda: index_ids(bootstrap.get_search_index()) == table_ids(table))
