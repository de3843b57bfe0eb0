"""A product's photos: granting an upload, recording what became of it, alt text, order, removal.

Every change is a read of the product and one conditional write of its whole
photo list (``ProductStore.replace_photos``, on the list's own revision): an
admin's edit and the image function's result never undo each other, and
neither touches the product's fields, version or stock. A write that lost a
race is tried again on a fresh read, a few times. The bytes and renditions are
the photos feature's (chalicelib/photos/); this module only keeps the list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Final

from chalicelib.catalog.product import MAX_PHOTOS, Product
from chalicelib.catalog.product_store import ProductStore, WriteRefused
from chalicelib.catalog.products import get_product
from chalicelib.photos.photo import Photo, PhotoState
from chalicelib.platform.errors import Conflict, InvalidInput, NotFound, ProductNotFound

ATTEMPTS: Final = 5  # reads and writes of one change before it gives up (409)


class PhotoNotFound(NotFound):
    code = "photo_not_found"

    def __init__(self, product_id: str, photo_id: str) -> None:
        super().__init__(f"product {product_id!r} has no photo {photo_id!r}", field="photo_id")


def new_photo_id() -> str:
    return f"ph-{uuid.uuid4().hex[:20]}"


Change = Callable[[list[Photo]], list[Photo]]


def change_photos(store: ProductStore, product_id: str, change: Change) -> Product:
    """Apply ``change`` to the current list and write it, unless another write came first (then again)."""
    for _ in range(ATTEMPTS):
        product = get_product(store, product_id)  # raises ProductNotFound
        photos = change(list(product.photos))
        try:
            return store.replace_photos(product_id, photos, expected_rev=product.photos_rev)
        except WriteRefused:
            continue  # changed (or deleted) since the read: read again
    raise Conflict(f"the photos of {product_id!r} kept changing meanwhile; try again", field="photos")


def _index(photos: Sequence[Photo], product_id: str, photo_id: str) -> int:
    for i, photo in enumerate(photos):
        if photo.id == photo_id:
            return i
    raise PhotoNotFound(product_id, photo_id)


def add_photo(store: ProductStore, product_id: str, alt: str = "") -> Photo:
    """A new photo, ``processing`` until its upload is made into renditions; at most MAX_PHOTOS."""
    photo = Photo.processing(new_photo_id(), alt)

    def append(photos: list[Photo]) -> list[Photo]:
        if len(photos) >= MAX_PHOTOS:
            raise Conflict(f"a product has at most {MAX_PHOTOS} photos: delete one first", field="photos")
        return [*photos, photo]

    change_photos(store, product_id, append)
    return photo


def find_photo(store: ProductStore, product_id: str, photo_id: str) -> Photo:
    photos = get_product(store, product_id).photos
    return photos[_index(photos, product_id, photo_id)]


def set_alt(store: ProductStore, product_id: str, photo_id: str, alt: str) -> Photo:
    def update(photos: list[Photo]) -> list[Photo]:
        i = _index(photos, product_id, photo_id)
        photos[i] = photos[i].model_copy(update={"alt": alt})
        return photos

    product = change_photos(store, product_id, update)
    return product.photos[_index(product.photos, product_id, photo_id)]


def reorder_photos(store: ProductStore, product_id: str, photo_ids: Sequence[str]) -> list[Photo]:
    """The same photos in the order given (every one of them, once)."""

    def order(photos: list[Photo]) -> list[Photo]:
        by_id = {p.id: p for p in photos}
        if len(photo_ids) != len(set(photo_ids)) or set(photo_ids) != set(by_id):
            raise InvalidInput(
                f"photo_ids must name each of the product's {len(by_id)} photos once: {sorted(by_id)}",
                field="photo_ids",
            )
        return [by_id[i] for i in photo_ids]

    return change_photos(store, product_id, order).photos


def remove_photo(store: ProductStore, product_id: str, photo_id: str) -> Photo:
    """Take the photo off the product; returns it (its renditions are the caller's to delete)."""
    removed: list[Photo] = []

    def remove(photos: list[Photo]) -> list[Photo]:
        removed[:] = [photos.pop(_index(photos, product_id, photo_id))]
        return photos

    change_photos(store, product_id, remove)
    return removed[0]


def record_result(store: ProductStore, product_id: str, result: Photo) -> Photo | None:
    """The image function's outcome (ready, or failed with a reason) in place of the processing photo.

    None if the product or the photo is gone, or the photo is no longer
    processing (deleted and so on meanwhile, or an earlier delivery already
    recorded it): the caller then cleans up what it made.
    """

    def replace(photos: list[Photo]) -> list[Photo]:
        i = _index(photos, product_id, result.id)
        if photos[i].state is not PhotoState.processing:
            raise _AlreadyDone
        photos[i] = result.model_copy(update={"alt": photos[i].alt})  # the admin's alt text, as it is now
        return photos

    try:
        change_photos(store, product_id, replace)
    except (ProductNotFound, PhotoNotFound, _AlreadyDone):  # the product deleted, the photo removed, or done
        return None
    return result


class _AlreadyDone(Exception):
    """The photo was recorded already: nothing to change."""
