-- Records that hold up in a dispute (issue #17): published audit anchors.
-- +goose Up

-- The anchors published at fixed times: one per scope (a courtyard with
-- its households' streams, or "global") and period. body is the whole
-- anchor (every stream head, its digest and MAC) as JSON; the digest also
-- went out in a notice to the council and in the log, where the
-- database's writer cannot reach it.
CREATE TABLE audit_anchors (
  id {{ID}},
  scope VARCHAR(64) NOT NULL,
  period_start {{TIME}} NOT NULL,
  at {{TIME}} NOT NULL,
  digest CHAR(64) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  CONSTRAINT uq_audit_anchors_period UNIQUE (scope, period_start)
) {{TABLE}};

-- +goose Down
DROP TABLE audit_anchors;
