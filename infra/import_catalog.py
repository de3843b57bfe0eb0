"""Load a catalog file into a stage's table, with a progress bar.

    python -m infra.import_catalog data/products.json            # local stack (make run)
    python -m infra.import_catalog catalog.json --stage dev      # your AWS account

The file is a JSON array of products (see data/products.json). Every product
is validated first; a file with any invalid product is refused whole, with the
position and field of each problem, and nothing is written. Products are
upserts: an existing id is replaced (the search index follows from the
table's stream); a product's ``version`` and ``photos``, as the API returns
them, are ignored (an import replaces a product without its photos; add them
under /products/{id}/photos).
The local stage writes to the running `make run` stack (its AWS_PORT, or
AWS_ENDPOINT_URL), with credentials only the embedded AWS accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from pydantic import ValidationError
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no types (types-tqdm is not a dependency)

from chalicelib.catalog.product import ProductIn
from chalicelib.catalog.product_table import DynamoProductStore
from chalicelib.catalog.products import import_products
from chalicelib.platform.config import ConfigError, require_aws
from chalicelib.platform.errors import NotFound
from infra.template import ROOT


class CatalogFileError(ValueError):
    pass


def read_catalog(path: Path) -> list[ProductIn]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogFileError(f"{path}: cannot read a JSON array of products ({exc})") from exc
    if not isinstance(raw, list):
        raise CatalogFileError(f"{path}: expected a JSON array of products")
    products: list[ProductIn] = []
    problems: list[str] = []
    for position, entry in enumerate(raw):
        if isinstance(entry, dict):
            # A file of products as the API returns them: their edit count is the shop's, not the file's.
            entry = {k: v for k, v in entry.items() if k not in ("version", "photos")}
        try:
            products.append(ProductIn.model_validate(entry))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"])
                problems.append(f"  product #{position} ({_label(entry)}): {where}: {error['msg']}")
    ids = [p.id for p in products if p.id]
    problems += [f"  duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise CatalogFileError(f"{path}: {len(problems)} problem(s), nothing imported:\n" + "\n".join(problems[:50]))
    return products


def _label(entry: Any) -> str:
    return str(entry.get("id") or entry.get("name") or "?") if isinstance(entry, dict) else "not an object"


def stage_table_name(stage: str, cloudformation: Any = None) -> str:
    """The stage's table: TABLE_NAME in .chalice/config.json, else (a deployed
    stage) the TableName output of its stack."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    name = config.get("stages", {}).get(stage, {}).get("environment_variables", {}).get("TABLE_NAME")
    if name:
        return str(name)
    if stage == "local":
        raise SystemExit("stage 'local' has no TABLE_NAME in .chalice/config.json")
    from infra.cloudformation import describe, outputs, stack_name

    stack = describe(cloudformation or boto3.client("cloudformation"), stack_name(stage))
    if stack is None or "TableName" not in outputs(stack):
        raise SystemExit(f"no table for stage {stage!r}: deploy it first (make deploy STAGE={stage})")
    return outputs(stack)["TableName"]


def load(table: Any, products: list[ProductIn], show_progress: bool = True) -> int:
    with tqdm(total=len(products), unit="product", disable=not show_progress, desc="importing") as bar:
        return import_products(DynamoProductStore(table), products, progress=bar.update)


def give_photos(table: Any, s3: Any, bucket: str, product_ids: list[str], show_progress: bool = True) -> int:
    """A drawn photo (infra/seed_photos.py) for each of these products with none, through the stage's pipeline.

    As an admin's upload: the photo is granted on the product (``processing``),
    then its JPEG is put at the upload key in the uploads bucket; the bucket's
    event brings it to the image function, which makes the renditions and
    marks it ready. A product that has a photo, in any state, is left alone,
    so running this again gives photos only to those still without; one
    deleted since is skipped. Returns the number of uploads put.
    """
    from chalicelib.catalog import product_photos
    from chalicelib.catalog.products import get_product
    from chalicelib.photos.photo import MAX_ALT
    from chalicelib.photos.uploads import upload_key
    from infra.seed_photos import photo_for

    store = DynamoProductStore(table)
    put = 0
    with tqdm(total=len(product_ids), unit="product", disable=not show_progress, desc="photos") as bar:
        for product_id in product_ids:
            bar.update(1)
            try:
                product = get_product(store, product_id)
            except NotFound:  # deleted since it was imported
                continue
            if product.photos:
                continue
            drawn = photo_for(product.model_dump(mode="json", exclude={"photos"}))
            photo = product_photos.add_photo(store, product.id, alt=product.name[:MAX_ALT])
            s3.put_object(Bucket=bucket, Key=upload_key(product.id, photo.id), Body=drawn, ContentType="image/jpeg")
            put += 1
    return put


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--stage", default="local", help="stage whose table to load (default: local)")
    parser.add_argument("--table", help="table name (default: the stage's TABLE_NAME)")
    args = parser.parse_args(argv)
    if args.stage == "local":
        # The running `make run` stack's embedded AWS (its stack file), never real AWS.
        os.environ["STAGE"] = "local"
        try:
            require_aws()
        except ConfigError as exc:
            print(exc.message, file=sys.stderr)
            return 1
    try:
        products = read_catalog(args.file)
    except CatalogFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    table = boto3.resource("dynamodb").Table(args.table or stage_table_name(args.stage))
    written = load(table, products)
    print(f"imported {written} products into {table.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
