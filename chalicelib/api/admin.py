"""The catalog admin function: products, stock and photos, for the admin role only."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.authorizer import jwt_auth
from chalicelib.api.http import dump, if_match_version, json_body, require_role
from chalicelib.api.responses import api_errors
from chalicelib.bootstrap import get_photo_buckets, get_product_store, get_s3, get_settings
from chalicelib.catalog import product_photos
from chalicelib.catalog import products as catalog
from chalicelib.catalog.product import ProductIn, ProductUpdate, StockChange
from chalicelib.photos import uploads
from chalicelib.photos.photo import Photo, PhotoAltChange, PhotoGrant, PhotoList, PhotoOrder, PhotoUploadRequest

bp = Blueprint(__name__)


def require_admin() -> None:
    require_role(bp.current_request, get_settings().admin_role)


@bp.route("/products", methods=["POST"], authorizer=jwt_auth)
@api_errors
def create_product() -> Response:
    require_admin()
    product = catalog.create_product(get_product_store(), json_body(bp.current_request, ProductIn))
    return Response(dump(product), status_code=201, headers={"Location": f"/products/{product.id}"})


@bp.route("/products/{product_id}", methods=["PUT"], authorizer=jwt_auth)
@api_errors
def update_product(product_id: str) -> dict[str, Any]:
    require_admin()
    fields = json_body(bp.current_request, ProductUpdate)
    seen = if_match_version(bp.current_request.headers.get("if-match"), fields.version)
    return dump(catalog.update_product(get_product_store(), product_id, fields, expected_version=seen))


@bp.route("/products/{product_id}/stock", methods=["POST"], authorizer=jwt_auth)
@api_errors
def adjust_stock(product_id: str) -> dict[str, Any]:
    require_admin()
    change = json_body(bp.current_request, StockChange).change
    return dump(catalog.adjust_stock(get_product_store(), product_id, change))


@bp.route("/products/{product_id}", methods=["DELETE"], authorizer=jwt_auth)
@api_errors
def delete_product(product_id: str) -> Response:
    require_admin()
    for photo in catalog.delete_product(get_product_store(), product_id).photos:
        forget(product_id, photo)
    return Response(body="", status_code=204)


# -- photos: granted here, made by the image function (chalicelib/api/images.py) --------------
@bp.route("/products/{product_id}/photos", methods=["GET"], authorizer=jwt_auth)
@api_errors
def list_photos(product_id: str) -> dict[str, Any]:
    require_admin()
    return dump(PhotoList(photos=catalog.get_product(get_product_store(), product_id).photos))


@bp.route("/products/{product_id}/photos", methods=["POST"], authorizer=jwt_auth)
@api_errors
def add_photo(product_id: str) -> Response:
    """A photo ``processing`` on the product, and a presigned POST for its upload."""
    require_admin()
    wanted = json_body(bp.current_request, PhotoUploadRequest)
    photo = product_photos.add_photo(get_product_store(), product_id, wanted.alt)
    key = uploads.upload_key(product_id, photo.id)
    upload = uploads.presigned_upload(get_s3(), get_photo_buckets().uploads, key, wanted.content_type)
    location = f"/products/{product_id}/photos/{photo.id}"
    grant = PhotoGrant.model_validate({"photo": photo, "upload": upload})
    return Response(dump(grant), status_code=201, headers={"Location": location})


@bp.route("/products/{product_id}/photos/{photo_id}", methods=["PATCH"], authorizer=jwt_auth)
@api_errors
def change_photo(product_id: str, photo_id: str) -> dict[str, Any]:
    require_admin()
    alt = json_body(bp.current_request, PhotoAltChange).alt
    return dump(product_photos.set_alt(get_product_store(), product_id, photo_id, alt))


@bp.route("/products/{product_id}/photos/order", methods=["PUT"], authorizer=jwt_auth)
@api_errors
def order_photos(product_id: str) -> dict[str, Any]:
    require_admin()
    photo_ids = json_body(bp.current_request, PhotoOrder).photo_ids
    return dump(PhotoList(photos=product_photos.reorder_photos(get_product_store(), product_id, photo_ids)))


@bp.route("/products/{product_id}/photos/{photo_id}", methods=["DELETE"], authorizer=jwt_auth)
@api_errors
def delete_photo(product_id: str, photo_id: str) -> Response:
    require_admin()
    forget(product_id, product_photos.remove_photo(get_product_store(), product_id, photo_id))
    return Response(body="", status_code=204)


def forget(product_id: str, photo: Photo) -> None:
    """A photo taken off its product: its renditions and any upload not yet processed go too."""
    buckets = get_photo_buckets()
    if photo.content_id:
        uploads.delete_renditions(get_s3(), buckets.renditions, photo.content_id)
    get_s3().delete_object(Bucket=buckets.uploads, Key=uploads.upload_key(product_id, photo.id))
