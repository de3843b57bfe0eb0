"""``DynamoOrderStore``: orders in the table, each purchase and cancellation one TransactWriteItems.

A purchase's transaction holds, in this order: one stock update per line
(``stock >= :qty`` and the price just read), the order (``attribute_not_exists``),
the user's account item (the order's address becomes the last one used; no
condition), then the idempotency record (``attribute_not_exists``). A cancellation's: the
order (``#s = :placed``), then one stock update per line put back. DynamoDB
names the action whose condition failed by its position, so the positions
the store reads are named below. See docs/data-model.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.orders.order import Address, Order, OrderLine
from chalicelib.orders.order_store import (
    CancelRefused,
    IdempotencyRecord,
    KeyAlreadyUsed,
    OrderNotPlaced,
    OrdersPage,
    Purchase,
    PurchaseRefused,
)
from chalicelib.platform import keys
from chalicelib.platform.aws import Table, condition_failed_at, is_cancelled_transaction

Action = dict[str, Any]

PURCHASE_IDEMPOTENCY_RECORD: Final = -1  # the last action of a purchase
CANCEL_ORDER: Final = 0  # the first action of a cancellation


def order_item(user_sub: str, order: Order, idem_key: str, email: str | None = None) -> dict[str, Any]:
    return {
        **keys.order_key(user_sub, order.id),
        "entity": "order",
        "user_sub": user_sub,
        "idempotency_key": idem_key,
        **({"email": email} if email else {}),
        **order.model_dump(mode="json", exclude_none=True),
    }


def to_order(item: dict[str, Any]) -> Order:
    return Order.model_validate(_plain(item))


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints (money and quantities are integers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return int(value)
    return value


class DynamoOrderStore:
    """An ``OrderStore`` (chalicelib/orders/order_store.py) over the shop's table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._catalog = DynamoProductStore(table)

    @property
    def catalog(self) -> DynamoProductStore:
        return self._catalog

    def purchase(self, purchase: Purchase) -> None:
        actions = [
            *(self._take_stock(line) for line in purchase.order.items),
            self._put_new(order_item(purchase.user_sub, purchase.order, purchase.idempotency_key, purchase.email)),
            self._keep_address(purchase.user_sub, purchase.order),
            self._put_new(
                {
                    **keys.idempotency_key(purchase.user_sub, purchase.idempotency_key),
                    "request_hash": purchase.request_hash,
                    "order_id": purchase.order.id,
                    "expires_at": purchase.expires_at,
                }
            ),
        ]
        try:
            self.table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if not is_cancelled_transaction(exc):
                raise  # throttled or failed: nothing was written, the caller may retry
            if condition_failed_at(exc, PURCHASE_IDEMPOTENCY_RECORD):
                raise KeyAlreadyUsed(purchase.idempotency_key) from exc
            raise PurchaseRefused(purchase.order.id) from exc

    def _take_stock(self, line: OrderLine) -> Action:
        return {
            "Update": {
                "TableName": self.table.name,
                "Key": keys.product_key(line.product_id),
                "UpdateExpression": "SET stock = stock - :qty",
                "ConditionExpression": "attribute_exists(PK) AND stock >= :qty AND price_cents = :price",
                "ExpressionAttributeValues": {":qty": line.quantity, ":price": line.unit_price_cents},
            }
        }

    def _keep_address(self, user_sub: str, order: Order) -> Action:
        """The account item's last shipping address: written with the order, or not at all."""
        return {
            "Update": {
                "TableName": self.table.name,
                "Key": keys.account_key(user_sub),
                "UpdateExpression": "SET shipping_address = :address, address_used_at = :at",
                "ExpressionAttributeValues": {
                    ":address": order.shipping_address.model_dump(mode="json", exclude_none=True),
                    ":at": order.created_at,
                },
            }
        }

    def saved_address(self, user_sub: str) -> Address | None:
        item = self.table.get_item(
            Key=keys.account_key(user_sub), ProjectionExpression="shipping_address", ConsistentRead=True
        ).get("Item")
        found = (item or {}).get("shipping_address")
        return None if found is None else Address.model_validate(found)

    def _put_new(self, item: dict[str, Any]) -> Action:
        return {"Put": {"TableName": self.table.name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}

    def idempotency_record(self, user_sub: str, idempotency_key: str) -> IdempotencyRecord | None:
        key = keys.idempotency_key(user_sub, idempotency_key)
        record = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        if record is None:
            return None
        return IdempotencyRecord(request_hash=str(record.get("request_hash", "")), order_id=str(record["order_id"]))

    def get(self, user_sub: str, order_id: str) -> Order | None:
        item = self.table.get_item(Key=keys.order_key(user_sub, order_id), ConsistentRead=True).get("Item")
        return None if item is None else to_order(item)

    def orders_of(self, user_sub: str, limit: int, after: str | None) -> OrdersPage:
        """One Query, newest first (order ids start with the time they were placed)."""
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.user_pk(user_sub)) & Key("SK").begins_with(keys.ORDER_PREFIX),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = keys.order_key(user_sub, after)
        response = self.table.query(**request)
        last = response.get("LastEvaluatedKey")
        return OrdersPage(
            orders=[to_order(item) for item in response["Items"]],
            last_id=str(last["SK"]).removeprefix(keys.ORDER_PREFIX) if last else None,
        )

    def cancel(self, user_sub: str, order_id: str, restock: Sequence[OrderLine]) -> None:
        actions: list[Action] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": keys.order_key(user_sub, order_id),
                    "UpdateExpression": "SET #s = :cancelled",
                    "ConditionExpression": "#s = :placed",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":cancelled": "cancelled", ":placed": "placed"},
                }
            }
        ]
        actions += [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": keys.product_key(line.product_id),
                    "UpdateExpression": "SET stock = stock + :qty",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":qty": line.quantity},
                }
            }
            for line in restock
        ]
        try:
            self.table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if not is_cancelled_transaction(exc):
                raise
            if condition_failed_at(exc, CANCEL_ORDER):
                raise OrderNotPlaced(order_id) from exc
            raise CancelRefused(order_id) from exc
