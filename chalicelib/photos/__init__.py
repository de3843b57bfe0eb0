"""Product photos: an admin's upload made into the renditions a page shows.

photo.py holds what a product records of a photo (Photo: processing, ready
with its renditions, or failed with a reason in plain words), where the
renditions live (content-addressed keys under ``img/<content id>/``, one
prefix per photo) and what a page needs to show one (PhotoView, srcset);
renditions.py the pipeline, pure and in memory: make_renditions() checks the
bytes, bounds the pixels, applies the orientation, converts to sRGB, strips
every metadata and encodes each width as WebP and JPEG, or raises
PhotoRefused with a code and a reason.

An upload flows: the admin's presigned POST -> the private uploads bucket ->
its event runs the image function -> renditions.make_renditions(bytes) ->
each Rendition written under its key in the renditions bucket ->
PhotoSet.photo() recorded on the product. Only the image function imports
renditions.py (and Pillow); the rest of the shop needs photo.py alone.
"""
