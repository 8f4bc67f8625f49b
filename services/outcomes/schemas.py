"""The messages of the outcomes service (the gateway imports them for ``GET /v1/reports/outcomes``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from marshmallow import fields, validate

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema
from services.outcomes.domain.measures import DIMENSIONS, MEASURES

MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# A comma-separated list of groups: agency ids, urgencies, language tags.
GROUPS = r"^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64}){0,49}$"


def _groups(description: str) -> fields.String:
    return fields.String(load_default=None, allow_none=True,
                         validate=v.Whole(GROUPS, error="A comma-separated list of groups."),
                         metadata={"description": description})


class OutcomesQuery(StrictSchema):
    """Which months, groups and breakdown a report covers (every filter narrows what is counted)."""

    from_ = fields.String(data_key="from", load_default=None, allow_none=True,
                          validate=v.Whole(MONTH, error="A month, YYYY-MM."),
                          metadata={"description": "first month, YYYY-MM"})
    to = fields.String(load_default=None, allow_none=True, validate=v.Whole(MONTH, error="A month, YYYY-MM."),
                       metadata={"description": "last month, YYYY-MM"})
    by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DIMENSIONS),
                       metadata={"description": "break every table down by this group"})
    urgency = _groups("only these urgencies (comma-separated)")
    referrer = _groups("only referrals from these agencies (comma-separated ids)")
    peer_group = _groups("only referrals with these peer groups (comma-separated ids; none: unassigned)")
    language = _groups("only referrals in these languages (comma-separated)")
    measure = fields.String(load_default=None, allow_none=True,
                            validate=v.Whole(r"^[a-z_]{1,32}(,[a-z_]{1,32}){0,20}$",
                                             error="A comma-separated list of measures."),
                            metadata={"description": f"only these measures: {', '.join(MEASURES)}"})


class OutcomeRowSchema(StrictSchema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM, or all over the months"})
    group = fields.String(required=True, metadata={"description": "the breakdown's group, or all"})
    category = fields.String(required=True, metadata={"description": "outcome category, or all"})
    count = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True)
    median_days = fields.Float(allow_none=True)
    p90_days = fields.Float(allow_none=True)
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    active = fields.Integer(allow_none=True)
    per_mentor = fields.Float(allow_none=True)


class OutcomeTableSchema(StrictSchema):
    measure = fields.String(required=True, validate=validate.OneOf(tuple(MEASURES)))
    title = fields.String(required=True)
    figures = fields.List(fields.String(), required=True)
    by = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(OutcomeRowSchema), required=True)


class OutcomesReport(StrictSchema):
    """De-identified outcome tables: no figure describes fewer than ``k`` participants."""

    k = fields.Integer(required=True, metadata={"description": "the smallest group any figure describes"})
    as_of = v.Timestamp(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(("network", "agency")))
    months = fields.List(fields.String(), required=True, metadata={"description": "first and last month"})
    by = fields.String(allow_none=True)
    filters = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    note = fields.String(required=True)
    tables = fields.List(fields.Nested(OutcomeTableSchema), required=True)


class RebuildResult(StrictSchema):
    events = fields.Integer(required=True)
    referrals = fields.Integer(required=True)
    consent_endings = fields.Integer(required=True)
    consent_refusals = fields.Integer(required=True)


CSV_COLUMNS = ("measure", "month", "group", "category", "figure", "value")


def report_csv(report: dict[str, Any]) -> str:
    """A dumped ``OutcomesReport`` as CSV, one figure a line (months only, no free text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for table in report["tables"]:
        for row in table["rows"]:
            for figure in table["figures"]:
                writer.writerow((table["measure"], row["month"], row["group"], row["category"], figure,
                                 row.get(figure)))
    return out.getvalue()
