"""The schemas of SMART back-end clients (``/v1/agencies/{id}/smart-clients``) and of the token
endpoint's answers (``POST /fhir/auth/token``)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from gateway import smart
from gateway.schemas import KEY_NAME
from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, page_of

# The roles a back-end client may act in on /v1: clinical work, never administration.
CLIENT_ROLES = ("referrer", "coordinator")


class SmartClientCreateRequest(StrictSchema):
    name = fields.String(required=True, validate=v.Whole(
        KEY_NAME, error="1-64 letters, digits, '.', '_' or '-'."),
        metadata={"description": "the ledger names the client's actions smart:<name>"})
    jwks = fields.Dict(metadata={
        "description": "the client's public keys as a JWK Set: RSA (RS384, 2048 bits or more) or EC "
                       "P-384 (ES384), each with its kid; give this or jwks_uri"})
    jwks_uri = fields.String(validate=validate.Length(min=1, max=2048), metadata={
        "description": "an https URL where the client publishes its JWK Set; give this or jwks"})
    scopes = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                         validate=validate.Length(min=1, max=50), metadata={
        "description": "the SMART system scopes the client may be granted, e.g. system/Task.rs "
                       "(v1 forms such as system/Task.read are read as v2)"})
    roles = v.many_of(CLIENT_ROLES, validate=validate.Length(min=1), metadata={
        "description": "roles its tokens act in on /v1, among its agency's (default: the agency's "
                       "referrer and coordinator roles)"})

    @validates("scopes")
    def _system_scopes(self, value: list[str], **kwargs: object) -> None:
        wrong = [scope for scope in value if smart.parse_scope(scope) is None]
        if wrong:
            raise ValidationError([f"{scope[:100]} is not a SMART system scope." for scope in wrong])

    @validates("jwks")
    def _public_keys(self, value: dict, **kwargs: object) -> None:
        try:
            smart.public_jwks(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates_schema
    def _one_key_source(self, data: dict, **kwargs: object) -> None:
        if ("jwks" in data) == ("jwks_uri" in data):
            raise ValidationError("Give the client's keys as jwks or as jwks_uri, not both.",
                                  field_name="jwks")


class SmartClientSchema(Schema):
    """A back-end client as its agency's admin sees it."""

    client_id = fields.String(required=True, metadata={"description": "iss and sub of its assertions"})
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    roles = fields.List(fields.String(), required=True)
    jwks = fields.Dict(allow_none=True)
    jwks_uri = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"description": "active or revoked"})
    created_at = v.Timestamp(required=True)
    revoked_at = v.Timestamp(allow_none=True)


SmartClientPageSchema = page_of(SmartClientSchema, "SmartClientPageSchema")


class TokenRequestForm(Schema):
    """``POST /fhir/auth/token``, form-encoded (RFC 6749 section 4.4, RFC 7523)."""

    grant_type = fields.String(required=True, validate=validate.OneOf([smart.GRANT_TYPE]))
    client_assertion_type = fields.String(required=True, validate=validate.OneOf([smart.ASSERTION_TYPE]))
    client_assertion = fields.String(required=True, metadata={"description": "the signed JWT"})
    scope = fields.String(required=True, metadata={"description": "space-separated system scopes"})


class AccessTokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": "bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds, at most 300"})
    scope = fields.String(required=True, metadata={"description": "the scopes granted, space-separated"})


class OAuthErrorSchema(Schema):
    """An OAuth error (RFC 6749 section 5.2)."""

    error = fields.String(required=True, validate=validate.OneOf(
        ["invalid_request", "invalid_client", "invalid_grant", "invalid_scope", "unsupported_grant_type"]))
    error_description = fields.String()
