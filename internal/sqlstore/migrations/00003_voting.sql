-- Motions, the frozen electorate, ballots and proxies (SPEC §4, §5).
-- +goose Up
CREATE TABLE motions (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  scope_type VARCHAR(16) NOT NULL,
  scope_id BIGINT UNSIGNED NOT NULL,
  title VARCHAR(128) NOT NULL,
  body TEXT NOT NULL,
  subject VARCHAR(64) NOT NULL,
  rule_kind VARCHAR(16) NOT NULL,
  rule_json TEXT NOT NULL,
  options_json TEXT NOT NULL,
  ballot_mode VARCHAR(8) NOT NULL,
  status VARCHAR(16) NOT NULL,
  notice_days INT NOT NULL,
  objection_days INT NOT NULL,
  opens_at {{TIME}} NOT NULL,
  closes_at {{TIME}} NOT NULL,
  published_at {{TIME}} NULL,
  opened_at {{TIME}} NULL,
  closed_at {{TIME}} NULL,
  objection_ends_at {{TIME}} NULL,
  final_at {{TIME}} NULL,
  passed TINYINT NULL,
  result_json TEXT NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT fk_motions_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_motions_courtyard ON motions (courtyard_id, status);
CREATE INDEX ix_motions_subject ON motions (courtyard_id, subject, status);
CREATE INDEX ix_motions_due ON motions (status, closes_at);

-- The electorate, frozen when voting opens. owner_group is the smallest
-- household ID among the households that share an owner with this one:
-- households of one owner count as one head.
CREATE TABLE motion_electorate (
  motion_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  owner_group BIGINT UNSIGNED NOT NULL,
  area DECIMAL(10,2) NOT NULL,
  building_id BIGINT UNSIGNED NOT NULL,
  unit_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (motion_id, household_id),
  CONSTRAINT fk_motion_electorate_motion FOREIGN KEY (motion_id) REFERENCES motions (id),
  CONSTRAINT fk_motion_electorate_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- Every ballot ever cast, never updated but to mark it superseded.
CREATE TABLE ballots (
  id {{ID}},
  motion_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  choice TEXT NOT NULL,
  channel VARCHAR(16) NOT NULL,
  cast_by VARCHAR(32) NOT NULL,
  delegation_id BIGINT UNSIGNED NULL,
  paper_file VARCHAR(128) NULL,
  receipt CHAR(12) NOT NULL,
  created_at {{TIME}} NOT NULL,
  superseded_at {{TIME}} NULL,
  CONSTRAINT uq_ballots_receipt UNIQUE (receipt),
  CONSTRAINT fk_ballots_motion FOREIGN KEY (motion_id) REFERENCES motions (id),
  CONSTRAINT fk_ballots_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};
CREATE INDEX ix_ballots_household ON ballots (motion_id, household_id);

-- The one counted ballot of each household and motion: the primary key is
-- the rule "one household, one vote". version grows with each replacement
-- so that live tallies apply changes in order.
CREATE TABLE counted_ballots (
  motion_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  ballot_id BIGINT UNSIGNED NOT NULL,
  choice TEXT NOT NULL,
  channel VARCHAR(16) NOT NULL,
  delegation_id BIGINT UNSIGNED NULL,
  version BIGINT NOT NULL,
  updated_at {{TIME}} NOT NULL,
  PRIMARY KEY (motion_id, household_id),
  CONSTRAINT fk_counted_ballots_ballot FOREIGN KEY (ballot_id) REFERENCES ballots (id)
) {{TABLE}};

-- A household's delegation of its vote to a proxy: for one motion
-- (motion_id) or for every motion of the courtyard until a date (until_at).
-- active is 1 while pending or in force and NULL once revoked or declined:
-- a household has at most one delegation in play at a time.
CREATE TABLE delegations (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  proxy_user_id BIGINT UNSIGNED NOT NULL,
  motion_id BIGINT UNSIGNED NULL,
  until_at {{TIME}} NULL,
  status VARCHAR(16) NOT NULL,
  active TINYINT NULL,
  authorisation_file VARCHAR(128) NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  accepted_at {{TIME}} NULL,
  confirmed_at {{TIME}} NULL,
  ended_at {{TIME}} NULL,
  CONSTRAINT uq_delegations_active UNIQUE (household_id, active),
  CONSTRAINT fk_delegations_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT fk_delegations_proxy FOREIGN KEY (proxy_user_id) REFERENCES users (id)
) {{TABLE}};
CREATE INDEX ix_delegations_household ON delegations (household_id, active);
CREATE INDEX ix_delegations_proxy ON delegations (proxy_user_id, active);

-- +goose Down
DROP TABLE delegations;
DROP TABLE counted_ballots;
DROP TABLE ballots;
DROP TABLE motion_electorate;
DROP TABLE motions;
