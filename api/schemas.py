"""Marshmallow schemas: they document the responses in OpenAPI and shape them."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ReasonSchema(Schema):
    code = fields.String(required=True, metadata={"example": "missing"})
    field = fields.String(allow_none=True, metadata={"example": "job_id"})
    message = fields.String(required=True)


class RejectedRowSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "0-based position of the row in the request"})
    line = fields.Integer(metadata={"description": "line number, for text/csv requests"})
    record = fields.Raw(required=True, allow_none=True, metadata={"description": "the row as it was sent"})
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class BatchResultSchema(Schema):
    table = fields.String(required=True)
    processed = fields.Integer(required=True)
    inserted = fields.Integer(required=True)
    already_exists = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)


class ComponentSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    detail = fields.String(allow_none=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema), required=True)
