-- Places, households, owners, WeChat users and their bindings (SPEC §2, §3).
-- Tokens in double braces are expanded per dialect by migrate.go.
-- +goose Up
CREATE TABLE subdistricts (
  id {{ID}},
  name VARCHAR(64) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_subdistricts_name UNIQUE (name)
) {{TABLE}};

CREATE TABLE communities (
  id {{ID}},
  subdistrict_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(64) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_communities_name UNIQUE (subdistrict_id, name),
  CONSTRAINT fk_communities_subdistrict FOREIGN KEY (subdistrict_id) REFERENCES subdistricts (id)
) {{TABLE}};

CREATE TABLE courtyards (
  id {{ID}},
  community_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(64) NOT NULL,
  address VARCHAR(255) NOT NULL DEFAULT '',
  max_delegations_per_proxy INT NOT NULL DEFAULT 1,
  proxy_photo_required TINYINT NOT NULL DEFAULT 0,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_courtyards_name UNIQUE (community_id, name),
  CONSTRAINT fk_courtyards_community FOREIGN KEY (community_id) REFERENCES communities (id)
) {{TABLE}};

CREATE TABLE buildings (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_buildings_name UNIQUE (courtyard_id, name),
  CONSTRAINT fk_buildings_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};

CREATE TABLE units (
  id {{ID}},
  building_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_units_name UNIQUE (building_id, name),
  CONSTRAINT fk_units_building FOREIGN KEY (building_id) REFERENCES buildings (id)
) {{TABLE}};

-- courtyard_id and building_id are copies of the unit's ancestry so that
-- scope queries (all households of a courtyard or building) need no joins.
CREATE TABLE households (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  building_id BIGINT UNSIGNED NOT NULL,
  unit_id BIGINT UNSIGNED NOT NULL,
  room VARCHAR(32) NOT NULL,
  floor INT NOT NULL,
  area DECIMAL(10,2) NOT NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  CONSTRAINT uq_households_room UNIQUE (unit_id, room),
  CONSTRAINT fk_households_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_households_building FOREIGN KEY (building_id) REFERENCES buildings (id),
  CONSTRAINT fk_households_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_households_courtyard ON households (courtyard_id, building_id, unit_id);

-- An owner is identified within a courtyard by name and the last four
-- characters of the ID card ('' when the roster gives none).
CREATE TABLE owners (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(32) NOT NULL,
  id_tail VARCHAR(4) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_owners_identity UNIQUE (courtyard_id, name, id_tail),
  CONSTRAINT fk_owners_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};

CREATE TABLE household_owners (
  household_id BIGINT UNSIGNED NOT NULL,
  owner_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (household_id, owner_id),
  CONSTRAINT fk_household_owners_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT fk_household_owners_owner FOREIGN KEY (owner_id) REFERENCES owners (id)
) {{TABLE}};
CREATE INDEX ix_household_owners_owner ON household_owners (owner_id);

-- WeChat users. The phone is stored AES-GCM encrypted; phone_hash (an HMAC)
-- finds a user by phone without decrypting; phone_masked is for display.
CREATE TABLE users (
  id {{ID}},
  openid VARCHAR(64) NOT NULL,
  unionid VARCHAR(64) NULL,
  real_name VARCHAR(32) NOT NULL DEFAULT '',
  phone_enc VARBINARY(128) NULL,
  phone_hash VARCHAR(64) NULL,
  phone_masked VARCHAR(16) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  last_login_at {{TIME}} NULL,
  CONSTRAINT uq_users_openid UNIQUE (openid)
) {{TABLE}};
CREATE INDEX ix_users_unionid ON users (unionid);
CREATE INDEX ix_users_phone_hash ON users (phone_hash);

-- representative is 1 for the household's representative and NULL for every
-- other member: the unique key allows many NULLs but only one 1 per household.
CREATE TABLE memberships (
  id {{ID}},
  user_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(16) NOT NULL,
  representative TINYINT NULL,
  via VARCHAR(16) NOT NULL,
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_memberships_user UNIQUE (user_id, household_id),
  CONSTRAINT uq_memberships_representative UNIQUE (household_id, representative),
  CONSTRAINT ck_memberships_representative CHECK (representative IS NULL OR (representative = 1 AND role <> 'tenant')),
  CONSTRAINT fk_memberships_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT fk_memberships_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};
CREATE INDEX ix_memberships_household ON memberships (household_id);

-- Invite codes are stored only as a SHA-256 hash; the code itself exists on
-- the printed slip.
CREATE TABLE invite_codes (
  id {{ID}},
  household_id BIGINT UNSIGNED NOT NULL,
  code_hash CHAR(64) NOT NULL,
  role VARCHAR(16) NOT NULL,
  expires_at {{TIME}} NOT NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  used_at {{TIME}} NULL,
  used_by BIGINT UNSIGNED NULL,
  CONSTRAINT uq_invite_codes_hash UNIQUE (code_hash),
  CONSTRAINT fk_invite_codes_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};
CREATE INDEX ix_invite_codes_household ON invite_codes (household_id);

-- A user asks to join a household without a code; staff decide.
-- pending is 1 while undecided, NULL after: one open request per user and household.
CREATE TABLE bind_requests (
  id {{ID}},
  user_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(16) NOT NULL,
  real_name VARCHAR(32) NOT NULL,
  note VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  pending TINYINT NULL,
  decided_by VARCHAR(32) NULL,
  decided_at {{TIME}} NULL,
  reason VARCHAR(255) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_bind_requests_pending UNIQUE (user_id, household_id, pending),
  CONSTRAINT fk_bind_requests_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT fk_bind_requests_household FOREIGN KEY (household_id) REFERENCES households (id)
) {{TABLE}};
CREATE INDEX ix_bind_requests_household ON bind_requests (household_id, status);

-- A proposed change of representative; one pending request per household.
CREATE TABLE representative_requests (
  id {{ID}},
  household_id BIGINT UNSIGNED NOT NULL,
  candidate_user_id BIGINT UNSIGNED NOT NULL,
  requested_by VARCHAR(32) NOT NULL,
  note VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  pending TINYINT NULL,
  decided_by VARCHAR(32) NULL,
  decided_at {{TIME}} NULL,
  reason VARCHAR(255) NOT NULL DEFAULT '',
  created_at {{TIME}} NOT NULL,
  CONSTRAINT uq_representative_requests_pending UNIQUE (household_id, pending),
  CONSTRAINT fk_representative_requests_household FOREIGN KEY (household_id) REFERENCES households (id),
  CONSTRAINT fk_representative_requests_candidate FOREIGN KEY (candidate_user_id) REFERENCES users (id)
) {{TABLE}};

-- +goose Down
DROP TABLE representative_requests;
DROP TABLE bind_requests;
DROP TABLE invite_codes;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE household_owners;
DROP TABLE owners;
DROP TABLE households;
DROP TABLE units;
DROP TABLE buildings;
DROP TABLE courtyards;
DROP TABLE communities;
DROP TABLE subdistricts;
