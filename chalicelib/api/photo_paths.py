"""The OpenAPI paths of a product's photos (admin): granted uploads, alt text, order, removal."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from chalicelib.api.openapi_parts import SIGNED_IN, SIGNED_IN_ERRORS, WITH_BODY, body, error, errors, ok
from chalicelib.photos.photo import PhotoAltChange, PhotoGrant, PhotoList, PhotoOrder, PhotoUploadRequest

PHOTO_MODELS: Final[tuple[type[BaseModel], ...]] = (
    PhotoAltChange,
    PhotoGrant,
    PhotoList,
    PhotoOrder,
    PhotoUploadRequest,
)


def photo_paths(product_id: dict[str, Any]) -> dict[str, Any]:
    photo_id = {"name": "photo_id", "in": "path", "required": True, "schema": {"type": "string"}}
    no_product = error("No such product")
    no_photo = error("No such product, or no such photo of it")
    return {
        "/products/{product_id}/photos": {
            "parameters": [product_id],
            "get": {
                "summary": "The product's photos in every state: processing, ready, failed with a reason (admin)",
                "operationId": "listPhotos",
                "security": SIGNED_IN,
                "responses": {
                    "200": ok("The photos, in order", "PhotoList"),
                    "404": no_product,
                    **errors(*SIGNED_IN_ERRORS),
                },
            },
            "post": {
                "summary": "Grant an upload: a photo `processing`, and a presigned POST to upload its file to (admin)",
                "description": "POST a multipart form to `upload.url`: every entry of `upload.fields`, then the "
                "file as `file` (at most `upload.max_bytes`, within `upload.expires_in` seconds). The photo "
                "becomes `ready` (renditions under /img/) or `failed` (with `reason`) within seconds.",
                "operationId": "addPhoto",
                "security": SIGNED_IN,
                "requestBody": body("PhotoUploadRequest"),
                "responses": {
                    "201": ok("The photo and where to upload it", "PhotoGrant"),
                    "404": no_product,
                    "409": error("The product has the most photos it may have"),
                    **errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                },
            },
        },
        "/products/{product_id}/photos/order": {
            "parameters": [product_id],
            "put": {
                "summary": "Show the product's photos in this order: every one of them, once (admin)",
                "operationId": "orderPhotos",
                "security": SIGNED_IN,
                "requestBody": body("PhotoOrder"),
                "responses": {
                    "200": ok("The photos, in their new order", "PhotoList"),
                    "404": no_product,
                    "409": error("The photos kept changing meanwhile"),
                    **errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                },
            },
        },
        "/products/{product_id}/photos/{photo_id}": {
            "parameters": [product_id, photo_id],
            "patch": {
                "summary": "Change a photo's alt text (admin)",
                "operationId": "changePhoto",
                "security": SIGNED_IN,
                "requestBody": body("PhotoAltChange"),
                "responses": {
                    "200": ok("The photo", "Photo"),
                    "404": no_photo,
                    **errors(*WITH_BODY, *SIGNED_IN_ERRORS),
                },
            },
            "delete": {
                "summary": "Take a photo off the product; its renditions are deleted (admin)",
                "operationId": "deletePhoto",
                "security": SIGNED_IN,
                "responses": {"204": {"description": "Deleted"}, "404": no_photo, **errors(*SIGNED_IN_ERRORS)},
            },
        },
    }
