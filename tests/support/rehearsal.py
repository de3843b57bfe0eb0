"""moto's CloudFormation, able to create the shop's whole stack: the one seam of the deploy rehearsal.

tests/functional/test_deploy_rehearsal.py runs `make deploy` and `make destroy`
(infra/deploy.py) against moto's server with CloudFormation included. Out of
the box moto 5.2 cannot create the shop's stack, nor give a deploy what
CloudFormation gives it. Each gap was found by running the rehearsal and read
in moto's source (paths below are under moto/); each is covered here, at one
place, and nowhere else (never in infra/ or chalicelib/):

Resource types (``resource_class_from_type`` in cloudformation/parsing.py finds
a model per type; a type without one is skipped, its ``Ref`` resolves to
nothing and a ``GetAtt`` of it fails the whole stack):

- no model for any ``AWS::Cognito::*`` or ``AWS::CloudFront::*`` type: the user
  pool, its client and admin group, the origin access control and the
  distribution are made here through moto's own cognito-idp and cloudfront
  backends (``Shim``), as CloudFormation makes them through the services' APIs;
- ``AWS::ApiGateway::RestApi`` ignores ``Body`` (apigateway/models.py), so the
  ``Deployment`` of the API Chalice describes there fails ("The REST API
  doesn't contain any methods"); moto's ``put_rest_api`` would import it but
  takes OpenAPI 3 only, and Chalice writes Swagger 2.0: ``import_swagger``
  imports its paths, methods, integrations and authorizers; nor does it delete
  the API with its stack (the model has no ``delete``);
- ``AWS::Lambda::LayerVersion`` has no ``physical_resource_id``, so its ``Ref``
  is the model object, not its ARN: the layer output is no string and a
  function's update fails (``'LayerVersion' object has no attribute 'replace'``).

Behaviour:

- a ``Number`` parameter resolves to an int, so ``Fn::Equals [!Ref N, "0"]``
  never holds (``numbers_as_strings``);
- an executed change set leaves the stack without outputs and with its first
  parameters (``stack_takes_change_set``);
- S3 evaluates a bucket policy without its ``Condition``, so the artifacts
  bucket's "TLS only" denies every request (``permission_over_tls``).

And moto's own settings: the rehearsal runs as an account of its own
(``account_session``) whose IAM holds AWS's managed policies
(``load_managed_policies``), and moto's Lambda answers invocations itself
instead of running the code in docker (``lambda_without_docker``).

Every other type moto lacks stays uncreated: ``not_created`` lists them for the
rehearsal to report. ``installed()`` puts the patches in and takes them out; it
refuses a moto other than ``MOTO_WRITTEN_FOR``, and a shim of a type moto has
since gained a model for. ``GAPS`` probes each gap against moto as it ships:
the rehearsal's tests fail when moto no longer has one, so its shim goes.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from infra.cloudformation import Watch

MOTO_WRITTEN_FOR = "5.2"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


def check_moto_version(installed: str | None = None) -> None:
    if installed is None:
        from importlib.metadata import version

        installed = version("moto")
    if installed.split(".")[:2] != MOTO_WRITTEN_FOR.split("."):
        raise RuntimeError(
            f"moto {installed} is installed; tests/support/rehearsal.py covers the gaps of moto {MOTO_WRITTEN_FOR}. "
            "Run tests/functional/test_deploy_rehearsal.py, drop the shims whose gap is gone, check the others "
            "against moto's source, then update MOTO_WRITTEN_FOR."
        )


# --- resource types moto has no model for --------------------------------------------------------


class Shim:
    """A resource of a type moto's CloudFormation has no model for, made through moto's backend.

    It answers what cloudformation/parsing.py asks of a model: its physical id
    (``Ref``), its attributes (``GetAtt``), update and delete.
    """

    TYPE: ClassVar[str]
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, physical_id: str, attributes: Mapping[str, str], properties: Mapping[str, Any]) -> None:
        self.physical_id = physical_id
        self.attributes = dict(attributes)
        self.properties = dict(properties)

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attr: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attr not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attr]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **_: Any
    ) -> Shim:
        return cls.create(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Shim,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Shim:
        properties = cloudformation_json.get("Properties", {})
        if properties != original_resource.properties:
            original_resource.update(properties, account_id, region_name)
            original_resource.properties = dict(properties)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # moto calls it only when ``delete`` raises a TypeError or an AttributeError

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        raise NotImplementedError

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        raise NotImplementedError

    def delete(self, account_id: str, region: str) -> None:
        raise NotImplementedError


def _cognito(account_id: str, region: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[account_id][region]


def _cloudfront(account_id: str) -> Any:
    from moto.cloudfront.models import cloudfront_backends

    return cloudfront_backends[account_id]["global"]


def _without(properties: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if key not in names}


class UserPool(Shim):
    """CloudFormation's property names are CreateUserPool's, but for the name."""

    TYPE = "AWS::Cognito::UserPool"
    ATTRIBUTES = frozenset({"Arn", "ProviderName", "ProviderURL", "UserPoolId"})

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        settings = _without(properties, "UserPoolName", "UserPoolTags")
        pool = _cognito(account_id, region).create_user_pool(properties.get("UserPoolName", name), settings)
        provider = f"cognito-idp.{region}.amazonaws.com/{pool.id}"
        attributes = {"Arn": pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}"}
        return cls(pool.id, {**attributes, "UserPoolId": pool.id}, properties)

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        settings = _without(properties, "UserPoolName", "UserPoolTags")
        _cognito(account_id, region).update_user_pool(self.physical_id, settings)

    def delete(self, account_id: str, region: str) -> None:
        _cognito(account_id, region).delete_user_pool(self.physical_id)


class UserPoolClient(Shim):
    TYPE = "AWS::Cognito::UserPoolClient"
    ATTRIBUTES = frozenset({"ClientId", "Name"})

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        client = _cognito(account_id, region).create_user_pool_client(
            properties["UserPoolId"],
            bool(properties.get("GenerateSecret", False)),
            _without(properties, "UserPoolId", "GenerateSecret"),
        )
        return cls(client.id, {"ClientId": client.id, "Name": properties.get("ClientName", "")}, properties)

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        settings = _without(properties, "UserPoolId", "GenerateSecret")
        _cognito(account_id, region).update_user_pool_client(properties["UserPoolId"], self.physical_id, settings)

    def delete(self, account_id: str, region: str) -> None:
        _cognito(account_id, region).delete_user_pool_client(self.properties["UserPoolId"], self.physical_id)


class UserPoolGroup(Shim):
    TYPE = "AWS::Cognito::UserPoolGroup"

    @staticmethod
    def settings(properties: Mapping[str, Any]) -> tuple[str, str, int]:
        return properties.get("Description", ""), properties.get("RoleArn", ""), properties.get("Precedence", 0)

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        backend = _cognito(account_id, region)
        group = backend.create_group(
            properties["UserPoolId"], properties.get("GroupName", name), *cls.settings(properties)
        )
        return cls(group.group_name, {}, properties)

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        backend = _cognito(account_id, region)
        backend.update_group(properties["UserPoolId"], self.physical_id, *self.settings(properties))

    def delete(self, account_id: str, region: str) -> None:
        _cognito(account_id, region).delete_group(self.properties["UserPoolId"], self.physical_id)


class OriginAccessControl(Shim):
    TYPE = "AWS::CloudFront::OriginAccessControl"
    ATTRIBUTES = frozenset({"Id"})

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        control = _cloudfront(account_id).create_origin_access_control(dict(properties["OriginAccessControlConfig"]))
        return cls(control.id, {"Id": control.id}, properties)

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        config = dict(properties["OriginAccessControlConfig"])
        _cloudfront(account_id).update_origin_access_control(self.physical_id, config)

    def delete(self, account_id: str, region: str) -> None:
        _cloudfront(account_id).delete_origin_access_control(self.physical_id)


def _items(values: list[Any]) -> dict[str, Any]:
    """A list as CloudFront's API writes one: ``{"Quantity": n, "Items": [...]}``."""
    return {"Quantity": len(values), "Items": values}


def _origin(origin: Mapping[str, Any]) -> dict[str, Any]:
    converted = {key: origin[key] for key in ("Id", "DomainName", "OriginPath", "S3OriginConfig") if key in origin}
    converted["CustomHeaders"] = _items([dict(header) for header in origin.get("OriginCustomHeaders", [])])
    custom = origin.get("CustomOriginConfig")
    if custom is not None:
        converted["CustomOriginConfig"] = {
            "HTTPPort": custom.get("HTTPPort", 80),
            "HTTPSPort": custom.get("HTTPSPort", 443),
            "OriginProtocolPolicy": custom["OriginProtocolPolicy"],
            "OriginSslProtocols": _items(list(custom.get("OriginSSLProtocols", ["TLSv1.2"]))),
        }
    return converted


BEHAVIOUR_FIELDS = (
    "PathPattern",
    "TargetOriginId",
    "ViewerProtocolPolicy",
    "Compress",
    "CachePolicyId",
    "OriginRequestPolicyId",
    "ResponseHeadersPolicyId",
)


def _behaviour(behaviour: Mapping[str, Any]) -> dict[str, Any]:
    converted = {key: behaviour[key] for key in BEHAVIOUR_FIELDS if key in behaviour}
    cached = _items(list(behaviour.get("CachedMethods", ["GET", "HEAD"])))
    converted["AllowedMethods"] = {
        **_items(list(behaviour.get("AllowedMethods", ["GET", "HEAD"]))),
        "CachedMethods": cached,
    }
    return converted


class Distribution(Shim):
    """CreateDistribution's config from CloudFormation's: its lists become ``{Quantity, Items}``."""

    TYPE = "AWS::CloudFront::Distribution"
    ATTRIBUTES = frozenset({"DomainName", "Id"})
    FIELDS = ("Comment", "Enabled", "DefaultRootObject", "PriceClass", "HttpVersion", "WebACLId")

    @classmethod
    def config(cls, reference: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        given = properties["DistributionConfig"]
        config = {"Comment": "", **{key: given[key] for key in cls.FIELDS if key in given}}
        config["CallerReference"] = reference
        config["Origins"] = {"Items": [_origin(origin) for origin in given["Origins"]]}
        config["DefaultCacheBehavior"] = _behaviour(given["DefaultCacheBehavior"])
        config["CacheBehaviors"] = _items([_behaviour(b) for b in given.get("CacheBehaviors", [])])
        return config

    @classmethod
    def create(cls, name: str, properties: Mapping[str, Any], account_id: str, region: str) -> Shim:
        distribution, _, _ = _cloudfront(account_id).create_distribution(cls.config(name, properties), tags=[])
        return cls(distribution.id, {"DomainName": distribution.domain_name, "Id": distribution.id}, properties)

    def update(self, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        backend = _cloudfront(account_id)
        reference = backend.distributions[self.physical_id].distribution_config.caller_reference
        backend.update_distribution(self.config(reference, properties), self.physical_id, if_match=True)

    def delete(self, account_id: str, region: str) -> None:
        _cloudfront(account_id).delete_distribution(self.physical_id, if_match=True)


SHIMS: tuple[type[Shim], ...] = (UserPool, UserPoolClient, UserPoolGroup, OriginAccessControl, Distribution)


# --- moto's own models, completed ------------------------------------------------------------------


def _rest_api_model() -> type:
    from moto.apigateway.models import RestAPI, apigateway_backends

    class RestApiWithBody(RestAPI):  # type: ignore[misc]
        """moto's REST API, then what its ``Body`` describes (moto ignores it); deleted with its stack
        (moto's model has no delete: a destroyed stack would leave its API behind)."""

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
        ) -> Any:
            api = RestAPI.create_from_cloudformation_json(
                resource_name, cloudformation_json, account_id, region_name, **kw
            )
            body = cloudformation_json["Properties"].get("Body")
            if body:
                import_swagger(apigateway_backends[account_id][region_name], api.id, body)
            return api

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> None:
            apigateway_backends[account_id][region_name].delete_rest_api(resource_name)

    return RestApiWithBody


def _layer_version_model() -> type:
    from moto.awslambda.models import LayerVersion

    class LayerVersionByArn(LayerVersion):  # type: ignore[misc]
        """moto's layer version, whose ``Ref`` is its ARN (moto's has no ``physical_resource_id``)."""

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kw: Any
        ) -> Any:
            version = LayerVersion.create_from_cloudformation_json(
                resource_name, cloudformation_json, account_id, region_name, **kw
            )
            version.physical_resource_id = version.arn  # published, so its version (and ARN) is known
            return version

    return LayerVersionByArn


COMPLETED = {"AWS::ApiGateway::RestApi": _rest_api_model, "AWS::Lambda::LayerVersion": _layer_version_model}
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch"})


def import_swagger(backend: Any, api_id: str, body: Mapping[str, Any]) -> None:
    """What API Gateway's import makes of a Swagger 2.0 body, as far as the shop's stack needs it:
    resources, methods (authorizer, API key), integrations and authorizers."""
    schemes = body.get("securityDefinitions", {})
    authorizers = _import_authorizers(backend, api_id, schemes)
    api = backend.get_rest_api(api_id)
    for path in sorted(body.get("paths", {})):
        resource = api.get_resource_for_path("/")
        for part in [p for p in path.split("/") if p]:
            child = api.get_resource_for_path(resource.get_path().rstrip("/") + "/" + part)
            resource = child or backend.create_resource(api_id, resource.id, part)
        for verb, operation in body["paths"][path].items():
            if verb in HTTP_METHODS:
                _import_method(backend, api_id, resource.id, verb.upper(), operation, schemes, authorizers)


def _import_authorizers(backend: Any, api_id: str, schemes: Mapping[str, Any]) -> dict[str, str]:
    made = {}
    for name, scheme in schemes.items():
        spec = scheme.get("x-amazon-apigateway-authorizer")
        if spec is not None:
            made[name] = backend.create_authorizer(
                api_id,
                name,
                spec.get("type", "token").upper(),
                authorizer_uri=spec.get("authorizerUri"),
                identity_source=spec.get("identitySource", f"method.request.header.{scheme.get('name')}"),
                authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds"),
            ).id
    return made


def _import_method(
    backend: Any,
    api_id: str,
    resource_id: str,
    method: str,
    operation: Mapping[str, Any],
    schemes: Mapping[str, Any],
    authorizers: Mapping[str, str],
) -> None:
    required = list(operation.get("security", [{}])[0])  # API Gateway honours the first requirement
    authorizer = next((authorizers[name] for name in required if name in authorizers), None)
    api_key = any(name not in authorizers and schemes.get(name, {}).get("type") == "apiKey" for name in required)
    backend.put_method(
        api_id,
        resource_id,
        method,
        "CUSTOM" if authorizer else "NONE",
        api_key_required=api_key,
        authorizer_id=authorizer,
    )
    integration = operation.get("x-amazon-apigateway-integration")
    if integration is not None:
        backend.put_integration(
            api_id,
            resource_id,
            method,
            integration["type"].upper(),
            integration.get("uri"),
            integration_method=integration.get("httpMethod"),
            request_templates=integration.get("requestTemplates"),
        )


# --- CloudFormation's behaviour ---------------------------------------------------------------------


def numbers_as_strings(resource_map: Any) -> None:
    """A ``Number`` parameter's ``Ref`` is a string, as CloudFormation gives it.

    moto resolves a ``Number`` to an int (a default of 0 as it stands, a given
    "0" by converting it: ``ResourceMap.load_parameters``), and
    ``parse_condition``'s ``Fn::Equals`` compares 0 with "0": every "is it 0?"
    condition of the shop's template turns the wrong way (``HasWaf`` then wants
    a WAF, ``*ReservedConcurrencySet`` reserves 0). No upstream issue found.
    """
    declared = resource_map._template.get("Parameters", {})
    for name, value in resource_map.resolved_parameters.items():
        if declared.get(name, {}).get("Type") == "Number" and isinstance(value, int | float):
            resource_map.resolved_parameters[name] = str(value)
    resource_map._parsed_resources.update(resource_map.resolved_parameters)


def stack_takes_change_set(change_set: Any) -> None:
    """After an executed change set, the stack has its template's outputs and the change set's parameters.

    moto's ``ChangeSet.apply`` (cloudformation/models.py) updates the stack's
    resources only, where its ``Stack.update`` also parses the new template,
    rebuilds the outputs and keeps the parameters: a stack made by a change
    set has no outputs at all, and each later change set is compared with the
    first one's parameters, so with ``UsePreviousValue`` nothing is ever
    "unchanged". No upstream issue found.
    """
    stack = change_set.stack
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()


NOT_TLS = {"Bool": {"aws:SecureTransport": "false"}}


def permission_over_tls(bucket: Any, action: str, resource: str, evaluate: Callable[..., Any]) -> Any:
    """What a bucket's policy says of a request made over TLS, as every request of a deploy to AWS is.

    moto's S3 evaluates a bucket policy's statements without their ``Condition``
    (``FakeBucket.get_permission`` calls ``IAMPolicy.is_action_permitted(action,
    resource)`` without the request; iam/access_control.py: "TODO add support
    for the Resource and Condition parts"), so the artifacts bucket's "deny
    when ``aws:SecureTransport`` is false" denies every request. moto's server
    is plain HTTP, AWS is HTTPS, where that statement never applies: it is left
    out, and any other statement is evaluated as moto does.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult

    statements = [] if bucket.policy is None else json.loads(bucket.policy).get("Statement", [])
    kept = [statement for statement in statements if statement.get("Condition") != NOT_TLS]
    if len(kept) == len(statements):
        return evaluate(bucket, action, resource)
    if not kept:
        return PermissionResult.NEUTRAL
    policy = {**json.loads(bucket.policy), "Statement": kept}
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


@contextmanager
def installed() -> Iterator[None]:
    """moto with the shims and patches above while the block runs (its server runs in this process)."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import ChangeSet
    from moto.s3.models import FakeBucket

    check_moto_version()
    gained = [shim.TYPE for shim in SHIMS if shim.TYPE in parsing.get_model_map()]
    if gained:
        raise RuntimeError(f"moto now has a CloudFormation model of {', '.join(gained)}: drop its shim")
    models: dict[str, Any] = {shim.TYPE: shim for shim in SHIMS}
    models.update({kind: made() for kind, made in COMPLETED.items()})
    originals = [
        (parsing, "resource_class_from_type", parsing.resource_class_from_type),
        (parsing.ResourceMap, "load_parameters", parsing.ResourceMap.load_parameters),
        (ChangeSet, "apply", ChangeSet.apply),
        (FakeBucket, "get_permission", FakeBucket.get_permission),
    ]
    find, load, apply, permission = (original for _, _, original in originals)

    def resource_class_from_type(resource_type: str) -> Any:
        return models.get(resource_type) or find(resource_type)

    def load_parameters(resource_map: Any) -> None:
        load(resource_map)
        numbers_as_strings(resource_map)

    def apply_change_set(change_set: Any) -> None:
        apply(change_set)
        stack_takes_change_set(change_set)

    def get_permission(bucket: Any, action: str, resource: str) -> Any:
        return permission_over_tls(bucket, action, resource, permission)

    replacements = [resource_class_from_type, load_parameters, apply_change_set, get_permission]
    for (owner, name, _), replacement in zip(originals, replacements, strict=True):
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def shimmed_types() -> list[str]:
    return sorted([shim.TYPE for shim in SHIMS] + list(COMPLETED))


# --- the shared moto server ---------------------------------------------------------------------------


def account_session(account_id: str) -> Any:
    """A boto3 session that speaks to moto's server as an account of its own (moto's ``x-moto-account-id``):
    the rehearsal's stack, artifacts bucket and API Gateway account setting are nobody else's."""
    import boto3

    session = boto3.session.Session()

    def as_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    session.events.register("before-send", as_account)
    return session


def load_managed_policies(session: Any) -> None:
    """The session's account in moto's IAM holds AWS's managed policies, as an AWS account does.

    moto's own setting (settings.py ``load_iam_aws_managed_policies``), read when
    an account's IAM is first made: the account's first IAM request is made with
    it on. That request also makes the default account's IAM, which is made
    first, without them, as the other tests know it.
    """
    import os

    import boto3

    boto3.client("iam").list_roles()  # the default account's IAM, as it always is
    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    try:
        session.client("iam").list_roles()
    finally:
        if previous is None:
            del os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"]
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


@contextmanager
def lambda_without_docker(moto_url: str) -> Iterator[None]:
    """moto's Lambda answering invocations itself instead of running the code in docker.

    moto's ``/moto-api/config`` switches it (moto_api/_internal/models.py
    ``set_config``; awslambda/utils.py ``get_backend`` then picks
    awslambda_simple/, whose invocation answers with its own payload). The
    functions made meanwhile live in that backend, so it stays on for the
    whole rehearsal; the previous setting comes back after.
    """
    previous = _moto_config(moto_url)
    _moto_config(moto_url, {"lambda": {"use_docker": False}})
    try:
        yield
    finally:
        _moto_config(moto_url, {"lambda": previous["lambda"]})


def _moto_config(moto_url: str, change: Mapping[str, Any] | None = None) -> dict[str, Any]:
    data = None if change is None else json.dumps(change).encode()
    request = urllib.request.Request(f"{moto_url}/moto-api/config", data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read() or b"{}"))


def instant_watch(pauses: list[float], bound_seconds: float = 30.0) -> Watch:
    """A ``Watch`` that never sleeps: a pause is recorded and moves its clock on, so a wait that would go
    on (moto's CloudFormation is synchronous: none should) ends with infra's own timeout error."""
    now = [0.0]

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += max(seconds, 1.0)

    return Watch(poll_seconds=1.0, timeout_seconds=bound_seconds, sleep=pause, clock=lambda: now[0])


# --- what moto did not create --------------------------------------------------------------------------


def condition_holds(name: str, template: Mapping[str, Any], parameters: Mapping[str, str], region: str) -> bool:
    """A condition of the template for the stack's parameters (the functions the shop's template uses)."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return region if node["Ref"] == "AWS::Region" else str(parameters[node["Ref"]])
        if isinstance(node, dict) and "Condition" in node:
            return holds(template["Conditions"][node["Condition"]])
        return holds(node) if isinstance(node, dict) else str(node)

    def holds(node: Mapping[str, Any]) -> bool:
        ((function, arguments),) = node.items()
        if function == "Fn::Equals":
            return bool(value(arguments[0]) == value(arguments[1]))
        if function == "Fn::Not":
            return not value(arguments[0])
        if function in ("Fn::And", "Fn::Or"):
            combine = all if function == "Fn::And" else any
            return combine(value(argument) for argument in arguments)
        raise ValueError(f"{function} in condition {name} is not evaluated here")

    return holds(template["Conditions"][name])


def not_created(cfn: Any, stack: str) -> dict[str, str]:
    """Each resource the stack's template declares for its parameters that moto did not create, with its type."""
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    template = body if isinstance(body, dict) else json.loads(body)
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    region = described["StackId"].split(":")[3]
    created = {
        resource["LogicalResourceId"]
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
        for resource in page["StackResourceSummaries"]
    }
    declared = {
        name: resource["Type"]
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition_holds(resource["Condition"], template, parameters, region)
    }
    return {name: kind for name, kind in sorted(declared.items()) if name not in created}


# --- the gaps, probed against moto as it ships (without ``installed()``) ---------------------------------


def _no_cognito_or_cloudfront_models(clients: Mapping[str, Any]) -> bool:
    from moto.cloudformation.parsing import get_model_map

    return not any(shim.TYPE in get_model_map() for shim in SHIMS)


def _rest_api_ignores_body(clients: Mapping[str, Any]) -> bool:
    from moto.apigateway.models import RestAPI, apigateway_backends

    body = {"swagger": "2.0", "info": {"title": "probe"}, "paths": {"/probe": {"get": {}}}}
    properties = {"Name": f"probe-{uuid.uuid4().hex[:8]}", "Body": body}
    api = RestAPI.create_from_cloudformation_json("probe", {"Properties": properties}, ACCOUNT, REGION)
    try:
        return [r.get_path() for r in api.resources.values()] == ["/"]
    finally:
        apigateway_backends[ACCOUNT][REGION].delete_rest_api(api.id)


def _rest_api_outlives_its_stack(clients: Mapping[str, Any]) -> bool:
    from moto.apigateway.models import RestAPI

    return not hasattr(RestAPI, "delete") and hasattr(RestAPI.delete_from_cloudformation_json, "__isabstractmethod__")


def _layer_ref_is_no_arn(clients: Mapping[str, Any]) -> bool:
    from moto.awslambda.models import LayerVersion

    return not hasattr(LayerVersion, "physical_resource_id")


def _number_parameters_are_ints(clients: Mapping[str, Any]) -> bool:
    from moto.cloudformation.parsing import ResourceMap

    template = {
        "Parameters": {"Limit": {"Type": "Number", "Default": 0}},
        "Conditions": {"Unlimited": {"Fn::Equals": [{"Ref": "Limit"}, "0"]}},
        "Resources": {},
    }
    resources = ResourceMap("probe", "probe", {}, {}, REGION, ACCOUNT, template, None)
    resources.load_parameters()
    resources.load_conditions()
    return not resources.lazy_condition_map["Unlimited"]


def _change_set_stack_has_no_outputs(clients: Mapping[str, Any]) -> bool:
    cfn, name = clients["cloudformation"], f"probe-{uuid.uuid4().hex[:8]}"
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Url": {"Value": {"Ref": "Queue"}}}}
    made = cfn.create_change_set(
        StackName=name, ChangeSetName="probe", ChangeSetType="CREATE", TemplateBody=json.dumps(template)
    )
    cfn.execute_change_set(ChangeSetName=made["Id"])
    try:
        return "Outputs" not in cfn.describe_stacks(StackName=name)["Stacks"][0]
    finally:
        cfn.delete_stack(StackName=name)


def _bucket_policy_conditions_ignored(clients: Mapping[str, Any]) -> bool:
    from botocore.exceptions import ClientError

    s3, bucket = clients["s3"], f"probe-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": NOT_TLS}
    statement["Resource"] = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    try:
        s3.put_object(Bucket=bucket, Key="probe", Body=b"probe")
    except ClientError:
        return True  # denied although the condition does not hold for a TLS request
    else:
        s3.delete_object(Bucket=bucket, Key="probe")
        return False
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
        s3.delete_bucket(Bucket=bucket)


# What each gap breaks without its shim, and the probe that says moto still has it.
GAPS: dict[str, tuple[str, Callable[[Mapping[str, Any]], bool]]] = {
    "no Cognito or CloudFront models": ("Shim subclasses", _no_cognito_or_cloudfront_models),
    "RestApi ignores Body": ("RestApiWithBody, import_swagger", _rest_api_ignores_body),
    "RestApi outlives its stack": ("RestApiWithBody.delete_from_cloudformation_json", _rest_api_outlives_its_stack),
    "LayerVersion Ref is no ARN": ("LayerVersionByArn", _layer_ref_is_no_arn),
    "Number parameters are ints in conditions": ("numbers_as_strings", _number_parameters_are_ints),
    "change-set stacks have no outputs": ("stack_takes_change_set", _change_set_stack_has_no_outputs),
    "bucket policies ignore conditions": ("permission_over_tls", _bucket_policy_conditions_ignored),
}
