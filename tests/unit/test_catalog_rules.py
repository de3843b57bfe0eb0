"""The catalog's rules over the in-memory product store: ids, versions,
stock kept or bounded, what a refused write is answered with, imports.

The store keeps DynamoDB's promises (tests/support/memory_stores.py; the same
scenarios run on DynamoDB in tests/functional/test_store_contract.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.catalog.product import MAX_STOCK, Product, ProductIn, ProductUpdate
from chalicelib.catalog.products import (
    adjust_stock,
    create_product,
    delete_product,
    get_product,
    import_products,
    new_product_id,
    stock_bounds,
    update_product,
)
from chalicelib.platform.errors import Conflict, ProductNotFound
from tests.support.memory_stores import MemoryProductStore

FIELDS: dict[str, Any] = {
    "name": "Squeaky Bone",
    "description": "Squeaks.",
    "species": "dog",
    "category": "toys",
    "brand": "Testbrand",
    "price_cents": 899,
    "stock": 10,
}


def incoming(**fields: Any) -> ProductIn:
    return ProductIn.model_validate({**FIELDS, **fields})


def edit(**fields: Any) -> ProductUpdate:
    return ProductUpdate.model_validate({**{k: v for k, v in FIELDS.items() if k != "stock"}, **fields})


def catalog_with(**fields: Any) -> tuple[MemoryProductStore, Product]:
    store = MemoryProductStore()
    return store, create_product(store, incoming(id="bone", **fields))


def test_a_new_product_without_an_id_gets_one_from_its_name() -> None:
    # GIVEN a product without an id WHEN it is created
    store = MemoryProductStore()
    made = create_product(store, incoming(name="Crème Brûlée Chew, XL!"))
    # THEN its id is its folded name and 8 random hex digits, and it is stored at version 1
    assert re.fullmatch(r"creme-brulee-chew-xl-[0-9a-f]{8}", made.id)
    assert get_product(store, made.id).version == 1


def test_a_name_with_no_letter_or_digit_still_gets_an_id() -> None:
    # GIVEN a name of punctuation only WHEN an id is made for it THEN it is a generic one
    assert re.fullmatch(r"product-[0-9a-f]{8}", new_product_id("!!! ???"))


def test_creating_an_existing_id_is_a_conflict_naming_the_id_and_changes_nothing() -> None:
    # GIVEN a product "bone" at 8.99
    store, _ = catalog_with()
    # WHEN another product is created with the same id
    with pytest.raises(Conflict) as refused:
        create_product(store, incoming(id="bone", price_cents=1))
    # THEN it is a 409 on the id, and the first is as it was
    assert (refused.value.field, refused.value.message) == ("id", "a product with id 'bone' already exists")
    assert get_product(store, "bone").price_cents == 899


def test_an_edit_without_stock_keeps_the_stock_sold_meanwhile() -> None:
    # GIVEN a product with 10 in stock, of which a purchase takes 3 while an admin edits
    store, bone = catalog_with(stock=10)
    store.write_stock(bone, 7)
    # WHEN the admin saves a new price without a stock
    saved = update_product(store, "bone", edit(price_cents=999))
    # THEN the new price is kept and so is the stock the purchase left
    assert (saved.price_cents, saved.stock) == (999, 7)


def test_an_edit_with_a_stock_sets_it() -> None:
    # GIVEN a product with 10 in stock WHEN an admin saves it with a stock of 4 THEN the stock is 4
    store, _ = catalog_with(stock=10)
    assert update_product(store, "bone", edit(stock=4)).stock == 4


def test_each_edit_moves_the_version_on_by_one() -> None:
    # GIVEN a new product (version 1) WHEN it is edited twice THEN it is at version 3
    store, _ = catalog_with()
    update_product(store, "bone", edit(name="Bone Two"))
    assert update_product(store, "bone", edit(name="Bone Three")).version == 3


def test_an_edit_of_a_stale_copy_is_refused_naming_both_versions_and_changes_nothing() -> None:
    # GIVEN a product another admin edited after ours was read at version 1
    store, _ = catalog_with()
    update_product(store, "bone", edit(name="Their Edit"))
    # WHEN ours is saved, expecting version 1
    with pytest.raises(Conflict) as refused:
        update_product(store, "bone", edit(name="Our Edit"), expected_version=1)
    # THEN it is a 409 on If-Match naming the version now and ours; their edit stays
    assert refused.value.field == "If-Match"
    assert refused.value.message == ("the product was edited meanwhile (version 2, not 1); reload it and edit again")
    assert get_product(store, "bone").name == "Their Edit"


def test_an_edit_of_the_current_version_lands() -> None:
    # GIVEN a product at version 1 WHEN it is saved expecting version 1 THEN it lands, at version 2
    store, _ = catalog_with()
    assert update_product(store, "bone", edit(name="Our Edit"), expected_version=1).version == 2


def test_an_optional_field_left_out_of_an_edit_is_removed() -> None:
    # GIVEN a product with an image WHEN it is saved without one THEN it has none
    store, _ = catalog_with(image="bone.jpg")
    assert update_product(store, "bone", edit()).image is None


@pytest.mark.parametrize("product_id", ["no-such-bone", "Not An Id!"])
def test_an_edit_of_a_missing_or_impossible_product_is_not_found(product_id: str) -> None:
    # GIVEN a catalog without it WHEN it is edited THEN it is a 404, and nothing was created
    store, _ = catalog_with()
    with pytest.raises(ProductNotFound):
        update_product(store, product_id, edit())
    assert list(store.products) == ["bone"]


def test_a_missing_product_is_not_found() -> None:
    # GIVEN an empty catalog WHEN a product is read THEN it is a 404 naming it
    with pytest.raises(ProductNotFound) as missing:
        get_product(MemoryProductStore(), "bone")
    assert missing.value.message == "no product with id 'bone'"


@pytest.mark.parametrize(("stock", "change", "after"), [(3, 7, 10), (3, -3, 0), (0, MAX_STOCK, MAX_STOCK)])
def test_stock_moves_by_the_change_asked_for_and_the_version_stays(stock: int, change: int, after: int) -> None:
    # GIVEN a product with some stock WHEN an admin adds or takes some THEN the stock moves by that much
    store, _ = catalog_with(stock=stock)
    moved = adjust_stock(store, "bone", change)
    assert (moved.stock, moved.version) == (after, 1)


@pytest.mark.parametrize(
    ("stock", "change", "message"),
    [
        (3, -4, "the stock is 3; it cannot change by -4 (allowed: 0 to 1000000)"),
        (MAX_STOCK - 1, 2, "the stock is 999999; it cannot change by +2 (allowed: 0 to 1000000)"),
    ],
)
def test_stock_never_leaves_zero_to_the_maximum(stock: int, change: int, message: str) -> None:
    # GIVEN a product near a bound WHEN a change would cross it
    store, _ = catalog_with(stock=stock)
    with pytest.raises(Conflict) as refused:
        adjust_stock(store, "bone", change)
    # THEN it is a 409 on the change naming the stock now, and the stock is as it was
    assert (refused.value.field, refused.value.message) == ("change", message)
    assert get_product(store, "bone").stock == stock


@pytest.mark.parametrize(("change", "bounds"), [(5, (0, MAX_STOCK - 5)), (-5, (5, MAX_STOCK)), (0, (0, MAX_STOCK))])
def test_a_change_applies_only_to_a_stock_it_keeps_within_bounds(change: int, bounds: tuple[int, int]) -> None:
    # GIVEN a change WHEN its bounds are worked out THEN before and after stay within 0..MAX_STOCK
    assert stock_bounds(change) == bounds


def test_adjusting_or_deleting_a_missing_product_is_not_found() -> None:
    # GIVEN an empty catalog WHEN a stock is adjusted or a product deleted THEN both are 404s
    store = MemoryProductStore()
    with pytest.raises(ProductNotFound):
        adjust_stock(store, "bone", 1)
    with pytest.raises(ProductNotFound):
        delete_product(store, "bone")


def test_a_deleted_product_is_gone() -> None:
    # GIVEN a product WHEN it is deleted THEN reading it is a 404
    store, _ = catalog_with()
    delete_product(store, "bone")
    with pytest.raises(ProductNotFound):
        get_product(store, "bone")


def test_an_import_replaces_products_with_the_same_id_and_reports_progress_by_the_hundred() -> None:
    # GIVEN a catalog holding "p-0" at version 3, and a file of 250 products that includes it
    store = MemoryProductStore()
    create_product(store, incoming(id="p-0"))
    for name in ("Two", "Three"):
        update_product(store, "p-0", edit(name=name))
    products = [incoming(id=f"p-{n}", name=f"Product {n}") for n in range(250)]
    reported: list[int] = []
    # WHEN it is imported
    written = import_products(store, products, progress=reported.append)
    # THEN all 250 are written, progress comes by the hundred and adds up, and p-0 is replaced at version 1
    assert written == 250 and len(store.products) == 250
    assert reported == [100, 100, 50]
    replaced = get_product(store, "p-0")
    assert (replaced.name, replaced.version) == ("Product 0", 1)


def test_an_imported_product_without_an_id_gets_one_from_its_name() -> None:
    # GIVEN a file with a product without an id WHEN it is imported THEN it is stored under an id from its name
    store = MemoryProductStore()
    assert import_products(store, [incoming(name="Cat Nip")]) == 1
    assert [p.split("-")[:2] for p in store.products] == [["cat", "nip"]]
