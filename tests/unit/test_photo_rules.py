"""A product's photos over the in-memory store: granted, recorded, edited, ordered, removed, raced.

The store keeps DynamoDB's promises (tests/support/memory_stores.py; the same
scenarios run on DynamoDB in tests/functional/test_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chalicelib.catalog import product_photos
from chalicelib.catalog.product import MAX_PHOTOS, Product
from chalicelib.photos.photo import Photo, PhotoState, content_id, rendition_key
from chalicelib.platform.errors import Conflict, InvalidInput, ProductNotFound
from tests.support.memory_stores import MemoryProductStore


def a_product(product_id: str = "chew-1") -> Product:
    return Product.model_validate(
        {
            "id": product_id,
            "name": "Chew",
            "description": "Chewy.",
            "species": "dog",
            "category": "treats",
            "brand": "Testbrand",
            "price_cents": 500,
            "stock": 3,
        }
    )


def ready(photo_id: str) -> Photo:
    cid = content_id(b"bytes", owner=photo_id)
    renditions = [
        {"width": 160, "height": 120, "format": f, "key": rendition_key(cid, 160, f)} for f in ("webp", "jpeg")
    ]
    return Photo.model_validate(
        {"id": photo_id, "state": "ready", "content_id": cid, "width": 160, "height": 120, "renditions": renditions}
    )


@pytest.fixture()
def store() -> MemoryProductStore:
    return MemoryProductStore([a_product()])


def ids(store: MemoryProductStore, product_id: str = "chew-1") -> list[str]:
    return [p.id for p in store.products[product_id].photos]


def test_a_granted_photo_is_processing_at_the_end_of_the_list_and_at_most_eight(store: MemoryProductStore) -> None:
    granted = [product_photos.add_photo(store, "chew-1", alt=f"View {n}") for n in range(MAX_PHOTOS)]
    assert ids(store) == [p.id for p in granted] and len(set(ids(store))) == MAX_PHOTOS
    assert all(p.state is PhotoState.processing for p in store.products["chew-1"].photos)
    with pytest.raises(Conflict, match="at most 8 photos"):
        product_photos.add_photo(store, "chew-1")
    with pytest.raises(ProductNotFound):
        product_photos.add_photo(store, "chew-none")
    assert store.products["chew-1"].version == 1  # photos are not edits of the product


def test_the_image_functions_result_replaces_the_processing_photo_and_keeps_the_admins_alt(
    store: MemoryProductStore,
) -> None:
    photo = product_photos.add_photo(store, "chew-1", alt="First alt")
    product_photos.set_alt(store, "chew-1", photo.id, "Front view")  # edited while it was processed
    assert product_photos.record_result(store, "chew-1", ready(photo.id)) is not None
    (stored,) = store.products["chew-1"].photos
    assert stored.state is PhotoState.ready and stored.alt == "Front view" and stored.srcset
    # A redelivery finds it recorded and changes nothing.
    assert product_photos.record_result(store, "chew-1", Photo.failed(photo.id, "x", "No.")) is None
    assert store.products["chew-1"].photos == [stored]


def test_a_result_for_a_photo_or_product_deleted_meanwhile_is_not_recorded(store: MemoryProductStore) -> None:
    photo = product_photos.add_photo(store, "chew-1")
    product_photos.remove_photo(store, "chew-1", photo.id)
    assert product_photos.record_result(store, "chew-1", ready(photo.id)) is None
    assert product_photos.record_result(store, "chew-none", ready(photo.id)) is None
    assert store.products["chew-1"].photos == []


def test_photos_are_reordered_only_as_a_whole(store: MemoryProductStore) -> None:
    a, b, c = (product_photos.add_photo(store, "chew-1") for _ in range(3))
    assert [p.id for p in product_photos.reorder_photos(store, "chew-1", [c.id, a.id, b.id])] == [c.id, a.id, b.id]
    for wrong in ([a.id, b.id], [a.id, b.id, b.id], [a.id, b.id, "ph-unknown-000"]):
        with pytest.raises(InvalidInput) as refused:
            product_photos.reorder_photos(store, "chew-1", wrong)
        assert refused.value.field == "photo_ids"
    assert ids(store) == [c.id, a.id, b.id]


def test_an_unknown_photo_is_a_404_naming_it(store: MemoryProductStore) -> None:
    for change in (
        lambda: product_photos.set_alt(store, "chew-1", "ph-unknown-000", "x"),
        lambda: product_photos.remove_photo(store, "chew-1", "ph-unknown-000"),
        lambda: product_photos.find_photo(store, "chew-1", "ph-unknown-000"),
    ):
        with pytest.raises(product_photos.PhotoNotFound) as missing:
            change()
        assert missing.value.status == 404 and missing.value.field == "photo_id"


class RacingStore(MemoryProductStore):
    """Another writer adds a photo between each read and write, ``races`` times."""

    def __init__(self, races: int) -> None:
        super().__init__([a_product()])
        self.races = races

    def replace_photos(self, product_id: str, photos: Sequence[Photo], *, expected_rev: int) -> Product:
        if self.races:
            self.races -= 1
            current = self.products[product_id]
            super().replace_photos(
                product_id,
                [*current.photos, Photo.processing(f"ph-other-{self.races:04d}")],
                expected_rev=current.photos_rev,
            )
        return super().replace_photos(product_id, photos, expected_rev=expected_rev)


def test_a_change_that_lost_a_race_is_made_again_on_a_fresh_read_and_loses_nothing() -> None:
    store = RacingStore(races=2)
    mine = product_photos.add_photo(store, "chew-1")
    assert ids(store) == ["ph-other-0001", "ph-other-0000", mine.id]  # both others kept, mine added after


def test_a_change_that_keeps_losing_is_a_409_and_writes_nothing_of_it() -> None:
    store = RacingStore(races=product_photos.ATTEMPTS)
    with pytest.raises(Conflict, match="kept changing"):
        product_photos.add_photo(store, "chew-1")
    assert all(i.startswith("ph-other-") for i in ids(store))


def test_two_photos_of_the_same_bytes_get_prefixes_of_their_own_and_a_redelivery_the_same() -> None:
    assert content_id(b"same bytes", owner="ph-a-00000000") != content_id(b"same bytes", owner="ph-b-00000000")
    assert content_id(b"same bytes", owner="ph-a-00000000") == content_id(b"same bytes", owner="ph-a-00000000")
    assert content_id(b"same bytes") != content_id(b"same bytes", owner="ph-a-00000000")
