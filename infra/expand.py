"""The SAM transform, run here with AWS's own translator (samtranslator), not at deploy time.

``chalice package`` writes a SAM template (``Transform:
AWS::Serverless-2016-10-31``). CloudFormation would expand it while it
deploys, into resources nobody has linted or read: the functions, the API's
deployment and stage, the layer version, the event source mappings. The shop
expands it itself, with the pinned translator CloudFormation runs, so that
what `make test` lints and asserts on (build/<stage>/expanded.json) is what
`make deploy` deploys, and change sets list real resources. The deployed
template has no transform left, so CloudFormation needs no
CAPABILITY_AUTO_EXPAND.

The translator needs the code's S3 locations: `make deploy` expands after
uploading (infra/artifacts.py); the build expands with ``NOT_UPLOADED``
locations, which only the lint copy carries.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Final

import boto3
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]  # no type information
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]  # no type information

from infra.cloudformation import StackError

# samtranslator logs a warning about its own usage metrics on every run: not the operator's concern.
logging.getLogger("samtranslator").setLevel(logging.ERROR)
NOT_UPLOADED: Final = "not-uploaded-yet"  # the bucket named by the build's lint copy
# The property of each SAM type that names the code (a zip next to the template, until uploaded).
CODE_PROPERTIES: Final = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def expand(template: dict[str, Any], region: str) -> dict[str, Any]:
    """``template`` with the SAM transform applied, as CloudFormation would in ``region``."""
    local = [
        f"{logical_id}.{CODE_PROPERTIES[r['Type']]}"
        for logical_id, r in template.get("Resources", {}).items()
        if isinstance(r.get("Properties", {}).get(CODE_PROPERTIES.get(r["Type"], "")), str)
    ]
    if local:
        raise StackError(f"upload the code before expanding: {', '.join(local)} still name local files")
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    # The template gives each function its own role: no SAM policy templates, no managed policies to look up.
    try:
        expanded: dict[str, Any] = translator.translate(
            copy.deepcopy(template), parameter_values={}, get_managed_policy_map=dict
        )
    except Exception as exc:  # samtranslator's InvalidDocumentException lists every problem
        raise StackError(f"the SAM transform refused the template: {exc}") from exc
    return expanded


def lint_copy(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The expansion of a built template before upload: its code in the ``NOT_UPLOADED`` bucket."""
    placed = copy.deepcopy(template)
    for r in placed.get("Resources", {}).values():
        properties, key = r.get("Properties", {}), CODE_PROPERTIES.get(r["Type"])
        if key and isinstance(properties.get(key), str):
            properties[key] = {"Bucket": NOT_UPLOADED, "Key": properties[key].removeprefix("./")}
    return expand(placed, region)
