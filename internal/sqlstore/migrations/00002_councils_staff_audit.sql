-- Councils and their terms, staff accounts, role grants, the audit log and
-- stored files (SPEC §2, §3, §10).
-- +goose Up
CREATE TABLE councils (
  id {{ID}},
  name VARCHAR(64) NOT NULL,
  created_at {{TIME}} NOT NULL
) {{TABLE}};

-- A council serves one courtyard or several jointly.
CREATE TABLE council_courtyards (
  council_id BIGINT UNSIGNED NOT NULL,
  courtyard_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (council_id, courtyard_id),
  CONSTRAINT fk_council_courtyards_council FOREIGN KEY (council_id) REFERENCES councils (id),
  CONSTRAINT fk_council_courtyards_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_council_courtyards_courtyard ON council_courtyards (courtyard_id);

CREATE TABLE council_terms (
  id {{ID}},
  council_id BIGINT UNSIGNED NOT NULL,
  starts_on DATE NOT NULL,
  ends_on DATE NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT fk_council_terms_council FOREIGN KEY (council_id) REFERENCES councils (id)
) {{TABLE}};
CREATE INDEX ix_council_terms_council ON council_terms (council_id, ends_on);

-- chair is 1 for the chair and NULL otherwise: one chair per term.
CREATE TABLE council_members (
  id {{ID}},
  term_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(16) NOT NULL,
  chair TINYINT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_council_members_user UNIQUE (term_id, user_id),
  CONSTRAINT uq_council_members_chair UNIQUE (term_id, chair),
  CONSTRAINT fk_council_members_term FOREIGN KEY (term_id) REFERENCES council_terms (id),
  CONSTRAINT fk_council_members_user FOREIGN KEY (user_id) REFERENCES users (id)
) {{TABLE}};
CREATE INDEX ix_council_members_user ON council_members (user_id);

CREATE TABLE staff_accounts (
  id {{ID}},
  username VARCHAR(64) NOT NULL,
  display_name VARCHAR(64) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until {{TIME}} NULL,
  disabled TINYINT NOT NULL DEFAULT 0,
  created_at {{TIME}} NOT NULL,
  last_login_at {{TIME}} NULL,
  CONSTRAINT uq_staff_accounts_username UNIQUE (username)
) {{TABLE}};

-- A role held by a staff account or a WeChat user over a scope
-- (subdistrict, community or courtyard).
CREATE TABLE role_grants (
  id {{ID}},
  principal_type VARCHAR(8) NOT NULL,
  principal_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(32) NOT NULL,
  scope_type VARCHAR(16) NOT NULL,
  scope_id BIGINT UNSIGNED NOT NULL,
  granted_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_role_grants UNIQUE (principal_type, principal_id, role, scope_type, scope_id)
) {{TABLE}};

-- The audit log: append-only, one hash chain per stream (a courtyard, one
-- household of a courtyard for ballots, delegations and signatures, or
-- "global"); audit_heads holds each chain's last link and serialises writers
-- of that stream only.
CREATE TABLE audit_log (
  id {{ID}},
  stream VARCHAR(64) NOT NULL,
  seq BIGINT UNSIGNED NOT NULL,
  at {{TIME}} NOT NULL,
  actor VARCHAR(32) NOT NULL,
  action VARCHAR(64) NOT NULL,
  object VARCHAR(64) NOT NULL,
  ip VARCHAR(64) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT '',
  detail TEXT NOT NULL,
  prev_hash CHAR(64) NOT NULL,
  hash CHAR(64) NOT NULL,
  CONSTRAINT uq_audit_log_seq UNIQUE (stream, seq)
) {{TABLE}};
CREATE INDEX ix_audit_log_object ON audit_log (object);

CREATE TABLE audit_heads (
  stream VARCHAR(64) NOT NULL PRIMARY KEY,
  seq BIGINT UNSIGNED NOT NULL,
  hash CHAR(64) NOT NULL
) {{TABLE}};

CREATE TABLE stored_files (
  id {{ID}},
  file_key VARCHAR(128) NOT NULL,
  purpose VARCHAR(32) NOT NULL,
  content_type VARCHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  sha256 CHAR(64) NOT NULL,
  uploaded_by VARCHAR(32) NOT NULL,
  courtyard_id BIGINT UNSIGNED NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_stored_files_key UNIQUE (file_key)
) {{TABLE}};

-- +goose Down
DROP TABLE stored_files;
DROP TABLE audit_heads;
DROP TABLE audit_log;
DROP TABLE role_grants;
DROP TABLE staff_accounts;
DROP TABLE council_members;
DROP TABLE council_terms;
DROP TABLE council_courtyards;
DROP TABLE councils;
