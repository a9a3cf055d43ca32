-- Periods in calendar days and paper evidence (issue #10, parts 3 and 4).
-- +goose Up

-- 24:00 China time of the last day of a motion's public notice, fixed when
-- it is published (Civil Code arts. 201-203); voting opens then at the
-- earliest. NULL for motions published before this column existed.
ALTER TABLE motions ADD COLUMN notice_ends_at {{TIME}} NULL;

-- The households one photo of a multi-household paper sheet lists,
-- declared when it is uploaded (purpose paper_sheet).
CREATE TABLE paper_sheet_households (
  file_key VARCHAR(128) NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (file_key, household_id),
  CONSTRAINT fk_paper_sheet_households_file FOREIGN KEY (file_key) REFERENCES stored_files (file_key),
  CONSTRAINT fk_paper_sheet_households_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- What each photo of signed paper is evidence for: one row per household
-- it vouches for, in one motion or petition (subject "motion:12",
-- "petition:3"). slot is 0 for a one-household photo (paper_ballot), so
-- such a photo has one row at most: reusing it for a second household is a
-- duplicate of the unique key (file_key, slot). On a sheet, slot is the
-- household's ID and sheet_household_id repeats it, so that the row must
-- reference a household the sheet lists (the foreign key is NULL, and so
-- not checked, for one-household photos).
CREATE TABLE paper_evidence (
  id {{ID}},
  file_key VARCHAR(128) NOT NULL,
  slot BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  subject VARCHAR(32) NOT NULL,
  sheet_household_id BIGINT UNSIGNED NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_paper_evidence_slot UNIQUE (file_key, slot),
  CONSTRAINT fk_paper_evidence_file FOREIGN KEY (file_key) REFERENCES stored_files (file_key),
  CONSTRAINT fk_paper_evidence_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT fk_paper_evidence_sheet FOREIGN KEY (file_key, sheet_household_id) REFERENCES paper_sheet_households (file_key, household_id),
  CONSTRAINT ck_paper_evidence_slot CHECK ((slot = 0 AND sheet_household_id IS NULL)
    OR (slot = household_id AND sheet_household_id IS NOT NULL AND sheet_household_id = household_id))
) {{TABLE}};

-- +goose Down
DROP TABLE paper_evidence;
DROP TABLE paper_sheet_households;
ALTER TABLE motions DROP COLUMN notice_ends_at;
