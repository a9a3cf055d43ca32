-- Council staff (1+4+2+N), elections with vetted candidates, opinions
-- (大家议) and satisfaction surveys (大家评) (issue #13). Councils, their
-- courtyards, terms and members are those of 00002: an election's result
-- becomes a new council_terms row with its council_members.
-- +goose Up

-- The staff assigned to a council: one subdistrict leader, grid workers
-- and community cadres ("1+4+2+N"; the N are the council's members).
CREATE TABLE council_staff (
  council_id BIGINT UNSIGNED NOT NULL,
  staff_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(16) NOT NULL,
  assigned_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  PRIMARY KEY (council_id, staff_id),
  CONSTRAINT fk_council_staff_council FOREIGN KEY (council_id) REFERENCES councils (id),
  CONSTRAINT fk_council_staff_staff FOREIGN KEY (staff_id) REFERENCES staff_accounts (id)
) {{TABLE}};

-- An election of a council's next term in one unit (a courtyard, a
-- building or a stairwell): the motion's scope is the unit.
CREATE TABLE elections (
  id {{ID}},
  council_id BIGINT UNSIGNED NOT NULL,
  courtyard_id BIGINT UNSIGNED NOT NULL,
  scope_type VARCHAR(16) NOT NULL,
  scope_id BIGINT UNSIGNED NOT NULL,
  title VARCHAR(200) NOT NULL,
  seats INT NOT NULL,
  term_starts_on DATE NOT NULL,
  term_ends_on DATE NOT NULL,
  status VARCHAR(16) NOT NULL,
  motion_id BIGINT UNSIGNED NULL,
  term_id BIGINT UNSIGNED NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  published_at {{TIME}} NULL,
  confirmed_by VARCHAR(32) NULL,
  confirmed_at {{TIME}} NULL,
  CONSTRAINT uq_elections_motion UNIQUE (motion_id),
  CONSTRAINT fk_elections_council FOREIGN KEY (council_id) REFERENCES councils (id),
  CONSTRAINT fk_elections_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_elections_council ON elections (council_id);

-- A person standing in an election; option_key is their option on the
-- election's motion once they are on the ballot.
CREATE TABLE candidates (
  id {{ID}},
  election_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(32) NOT NULL,
  source VARCHAR(16) NOT NULL,
  statement TEXT NOT NULL,
  option_key VARCHAR(8) NULL,
  nominated_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_candidates_user UNIQUE (election_id, user_id),
  CONSTRAINT fk_candidates_election FOREIGN KEY (election_id) REFERENCES elections (id),
  CONSTRAINT fk_candidates_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT fk_candidates_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- The household representatives who nominated a candidate (source
-- residents), each for the household they represent.
CREATE TABLE candidate_nominators (
  candidate_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (candidate_id, household_id),
  CONSTRAINT fk_candidate_nominators_candidate FOREIGN KEY (candidate_id) REFERENCES candidates (id),
  CONSTRAINT fk_candidate_nominators_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- Staff's finding on one eligibility criterion of a candidate: pass means
-- the candidate meets it (a positive statement holds, a negative item does
-- not apply). found_by is the first finder, kept when the finding changes.
CREATE TABLE candidate_findings (
  candidate_id BIGINT UNSIGNED NOT NULL,
  criterion VARCHAR(32) NOT NULL,
  pass TINYINT NOT NULL,
  note TEXT NOT NULL,
  evidence_file VARCHAR(128) NULL,
  found_by VARCHAR(32) NOT NULL,
  updated_by VARCHAR(32) NOT NULL,
  updated_at {{TIME}} NOT NULL,
  PRIMARY KEY (candidate_id, criterion),
  CONSTRAINT fk_candidate_findings_candidate FOREIGN KEY (candidate_id) REFERENCES candidates (id)
) {{TABLE}};

-- One appeal per candidate (the primary key), decided by a staff member
-- who recorded none of the findings appealed against.
CREATE TABLE candidate_appeals (
  candidate_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  reason TEXT NOT NULL,
  filed_at {{TIME}} NOT NULL,
  upheld TINYINT NULL,
  decision_note TEXT NULL,
  decided_by VARCHAR(32) NULL,
  decided_at {{TIME}} NULL,
  CONSTRAINT fk_candidate_appeals_candidate FOREIGN KEY (candidate_id) REFERENCES candidates (id)
) {{TABLE}};

-- A community's switch of an eligibility criterion, overriding the
-- configured default.
CREATE TABLE criterion_switches (
  community_id BIGINT UNSIGNED NOT NULL,
  criterion VARCHAR(32) NOT NULL,
  enabled TINYINT NOT NULL,
  updated_by VARCHAR(32) NOT NULL,
  updated_at {{TIME}} NOT NULL,
  PRIMARY KEY (community_id, criterion)
) {{TABLE}};

-- Opinions (大家议): a resident's problem or suggestion to the council.
CREATE TABLE opinions (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  building_id BIGINT UNSIGNED NULL,
  raised_by BIGINT UNSIGNED NOT NULL,
  category VARCHAR(16) NOT NULL,
  body TEXT NOT NULL,
  photos TEXT NOT NULL,
  public TINYINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  assignee_id BIGINT UNSIGNED NULL,
  rating INT NULL,
  reopened TINYINT NOT NULL DEFAULT 0,
  draft_ref VARCHAR(32) NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  resolved_at {{TIME}} NULL,
  CONSTRAINT fk_opinions_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id),
  CONSTRAINT fk_opinions_user FOREIGN KEY (raised_by) REFERENCES users (id)
) {{TABLE}};
CREATE INDEX ix_opinions_courtyard ON opinions (courtyard_id, created_at);

CREATE TABLE opinion_replies (
  id {{ID}},
  opinion_id BIGINT UNSIGNED NOT NULL,
  author VARCHAR(32) NOT NULL,
  body TEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT fk_opinion_replies_opinion FOREIGN KEY (opinion_id) REFERENCES opinions (id)
) {{TABLE}};
CREATE INDEX ix_opinion_replies_opinion ON opinion_replies (opinion_id);

-- Satisfaction surveys (大家评) of a council's term.
CREATE TABLE surveys (
  id {{ID}},
  council_id BIGINT UNSIGNED NOT NULL,
  term_id BIGINT UNSIGNED NOT NULL,
  title VARCHAR(200) NOT NULL,
  questions TEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  closes_at {{TIME}} NOT NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT fk_surveys_council FOREIGN KEY (council_id) REFERENCES councils (id),
  CONSTRAINT fk_surveys_term FOREIGN KEY (term_id) REFERENCES council_terms (id)
) {{TABLE}};
CREATE INDEX ix_surveys_council ON surveys (council_id);

-- One response per household and survey: the unique key, not only code.
CREATE TABLE survey_responses (
  id {{ID}},
  survey_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  answers TEXT NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_survey_responses_household UNIQUE (survey_id, household_id),
  CONSTRAINT fk_survey_responses_survey FOREIGN KEY (survey_id) REFERENCES surveys (id),
  CONSTRAINT fk_survey_responses_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};

-- +goose Down
DROP TABLE survey_responses;
DROP TABLE surveys;
DROP TABLE opinion_replies;
DROP TABLE opinions;
DROP TABLE criterion_switches;
DROP TABLE candidate_appeals;
DROP TABLE candidate_findings;
DROP TABLE candidate_nominators;
DROP TABLE candidates;
DROP TABLE elections;
DROP TABLE council_staff;
