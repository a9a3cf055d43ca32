-- Records that hold up in a dispute (issue #17): published audit anchors,
-- frozen cost tables.
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

-- A unit's elevator cost table as published to residents: a frozen,
-- versioned document (total, coefficients, and per household the area,
-- coefficient and share as they were). Later roster edits do not move it.
CREATE TABLE cost_tables (
  id {{ID}},
  petition_id BIGINT UNSIGNED NOT NULL,
  unit_id BIGINT UNSIGNED NOT NULL,
  version INT NOT NULL,
  total_fen BIGINT NOT NULL,
  coefficients VARCHAR(2000) NOT NULL,
  published_by VARCHAR(32) NOT NULL,
  published_at {{TIME}} NOT NULL,
  CONSTRAINT uq_cost_tables_version UNIQUE (petition_id, unit_id, version),
  CONSTRAINT fk_cost_tables_petition FOREIGN KEY (petition_id) REFERENCES petitions (id),
  CONSTRAINT fk_cost_tables_unit FOREIGN KEY (unit_id) REFERENCES units (id)
) {{TABLE}};

CREATE TABLE cost_table_rows (
  table_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  building VARCHAR(64) NOT NULL,
  unit VARCHAR(64) NOT NULL,
  room VARCHAR(64) NOT NULL,
  floor INT NOT NULL,
  area_hundredths BIGINT NOT NULL,
  coefficient BIGINT NOT NULL,
  share_fen BIGINT NOT NULL,
  PRIMARY KEY (table_id, household_id),
  CONSTRAINT fk_cost_table_rows_table FOREIGN KEY (table_id) REFERENCES cost_tables (id),
  CONSTRAINT fk_cost_table_rows_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- The version a pledge was made against (NULL: made before tables were
-- frozen, or without a pledge).
ALTER TABLE signatures ADD COLUMN cost_table_id BIGINT UNSIGNED NULL;

-- +goose Down
ALTER TABLE signatures DROP COLUMN cost_table_id;
DROP TABLE cost_table_rows;
DROP TABLE cost_tables;
DROP TABLE audit_anchors;
