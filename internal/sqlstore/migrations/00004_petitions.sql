-- Petitions and signatures, elevator cost-sharing, pledges and payments
-- (SPEC §6).
-- +goose Up
CREATE TABLE petitions (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  scope_type VARCHAR(16) NOT NULL,
  scope_id BIGINT UNSIGNED NOT NULL,
  title VARCHAR(128) NOT NULL,
  body TEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  deadline {{TIME}} NOT NULL,
  target_households_num INT NULL,
  target_households_den INT NULL,
  target_area_num INT NULL,
  target_area_den INT NULL,
  cost_sharing TINYINT NOT NULL DEFAULT 0,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  published_at {{TIME}} NULL,
  closed_at {{TIME}} NULL,
  CONSTRAINT fk_petitions_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_petitions_courtyard ON petitions (courtyard_id, status);
CREATE INDEX ix_petitions_due ON petitions (status, deadline);

-- The one current signature of each household and petition: the primary
-- key is "one household, one signature".
CREATE TABLE signatures (
  petition_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  signer VARCHAR(32) NOT NULL,
  real_name VARCHAR(32) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  signature_file VARCHAR(128) NULL,
  paper_file VARCHAR(128) NULL,
  pledge_fen BIGINT NULL,
  signed_at {{TIME}} NOT NULL,
  PRIMARY KEY (petition_id, household_id),
  CONSTRAINT fk_signatures_petition FOREIGN KEY (petition_id) REFERENCES petitions (id),
  CONSTRAINT fk_signatures_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- Every sign, withdrawal and paper entry, never updated.
CREATE TABLE signature_events (
  id {{ID}},
  petition_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  event VARCHAR(16) NOT NULL,
  actor VARCHAR(32) NOT NULL,
  real_name VARCHAR(32) NOT NULL DEFAULT '',
  channel VARCHAR(16) NOT NULL DEFAULT '',
  pledge_fen BIGINT NULL,
  at {{TIME}} NOT NULL,
  CONSTRAINT fk_signature_events_petition FOREIGN KEY (petition_id) REFERENCES petitions (id)
) {{TABLE}};
CREATE INDEX ix_signature_events ON signature_events (petition_id, household_id);

-- An elevator's cost table for one unit: the total cost and, per floor, a
-- coefficient in thousandths (1000 = 1.0; 0 = the floor pays nothing).
CREATE TABLE cost_plans (
  petition_id BIGINT UNSIGNED NOT NULL,
  unit_id BIGINT UNSIGNED NOT NULL,
  total_fen BIGINT NOT NULL,
  coefficients TEXT NOT NULL,
  updated_by VARCHAR(32) NOT NULL,
  updated_at {{TIME}} NOT NULL,
  PRIMARY KEY (petition_id, unit_id),
  CONSTRAINT fk_cost_plans_petition FOREIGN KEY (petition_id) REFERENCES petitions (id),
  CONSTRAINT fk_cost_plans_unit FOREIGN KEY (unit_id) REFERENCES units (id)
) {{TABLE}};

CREATE TABLE payments (
  id {{ID}},
  petition_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  amount_fen BIGINT NOT NULL,
  receipt_no VARCHAR(64) NOT NULL,
  receipt_file VARCHAR(128) NULL,
  recorded_by VARCHAR(32) NOT NULL,
  paid_on DATE NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_payments_receipt UNIQUE (petition_id, receipt_no),
  CONSTRAINT ck_payments_amount CHECK (amount_fen > 0),
  CONSTRAINT fk_payments_petition FOREIGN KEY (petition_id) REFERENCES petitions (id),
  CONSTRAINT fk_payments_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};
CREATE INDEX ix_payments_household ON payments (petition_id, household_id);

-- Exports list a scope's households in roster order straight off this index.
CREATE INDEX ix_households_order ON households (courtyard_id, building_id, unit_id, floor, room);

-- +goose Down
DROP INDEX ix_households_order{{ON households}};
DROP TABLE payments;
DROP TABLE cost_plans;
DROP TABLE signature_events;
DROP TABLE signatures;
DROP TABLE petitions;
