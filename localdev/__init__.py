"""The shop on a laptop: the local tooling, never deployed and never imported by the shop.

local_stack.py (`make run`, `make aws`): moto's server as the embedded AWS,
the stage's table, bucket and user pool created from infra/template.yaml
(resources.py), the seeded catalog, the table's stream pumped to its two
readers (stream_pump.py), the API and the SPA's server. gateway.py makes
`chalice local` and the test client answer as API Gateway does;
chalice_local.py (`make api`) is `chalice local` with it installed. The moto
patches (moto_patches.py: moto_speed.py for cost, moto_fixes.py for answers)
say what each works around. token.py prints a local user's token,
generate_catalog.py makes synthetic catalogs. The seeded products' photos
(drawn by infra/seed_photos.py, deterministically; no photo is stored in the
repo) go through the same upload pipeline as an admin's (upload_pump.py
delivers the uploads bucket's queue to the image function).

Nothing in chalicelib/ or infra/ imports this package (tests/unit/test_architecture.py).
"""
