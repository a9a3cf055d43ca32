-- Notices and their durable delivery (SPEC §7).
-- +goose Up

-- A notice written by council or staff, or sent by the system for an event
-- (a motion opened, a reminder, a result, a delegation, a petition closed).
-- event_key makes a system notice unique per event, so that several
-- instances running the same scheduled job never send it twice.
CREATE TABLE notices (
  id {{ID}},
  courtyard_id BIGINT UNSIGNED NOT NULL,
  kind VARCHAR(24) NOT NULL,
  event_key VARCHAR(64) NULL,
  title VARCHAR(64) NOT NULL,
  body TEXT NOT NULL,
  images TEXT NOT NULL,
  page VARCHAR(128) NOT NULL,
  status VARCHAR(16) NOT NULL,
  check_result VARCHAR(16) NOT NULL,
  created_by VARCHAR(32) NOT NULL,
  created_at {{TIME}} NOT NULL,
  approved_by VARCHAR(32) NULL,
  sent_at {{TIME}} NULL,
  CONSTRAINT uq_notices_event UNIQUE (event_key),
  CONSTRAINT fk_notices_courtyard FOREIGN KEY (courtyard_id) REFERENCES courtyards (id)
) {{TABLE}};
CREATE INDEX ix_notices_courtyard ON notices (courtyard_id, id);

-- Where a notice goes: courtyards, buildings or units.
CREATE TABLE notice_targets (
  notice_id BIGINT UNSIGNED NOT NULL,
  scope_type VARCHAR(16) NOT NULL,
  scope_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (notice_id, scope_type, scope_id),
  CONSTRAINT fk_notice_targets_notice FOREIGN KEY (notice_id) REFERENCES notices (id)
) {{TABLE}};

-- One row per recipient, written with the notice when it is sent (an
-- outbox): the mini-program inbox (read_at) and the subscribe message's
-- delivery state. The unique key is "never two messages to one person for
-- one notice". enqueued_at is when the row was last put on the queue; the
-- sweeper puts back rows that are due and were not picked up.
CREATE TABLE notice_deliveries (
  id {{ID}},
  notice_id BIGINT UNSIGNED NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NULL,
  template_key VARCHAR(32) NOT NULL,
  state VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_at {{TIME}} NOT NULL,
  enqueued_at {{TIME}} NULL,
  lease_until {{TIME}} NULL,
  msg_id BIGINT NULL,
  errcode INT NULL,
  reason VARCHAR(255) NOT NULL DEFAULT '',
  read_at {{TIME}} NULL,
  created_at {{TIME}} NOT NULL,
  updated_at {{TIME}} NOT NULL,
  CONSTRAINT uq_notice_deliveries UNIQUE (notice_id, user_id),
  CONSTRAINT fk_notice_deliveries_notice FOREIGN KEY (notice_id) REFERENCES notices (id),
  CONSTRAINT fk_notice_deliveries_user FOREIGN KEY (user_id) REFERENCES users (id)
) {{TABLE}};
CREATE INDEX ix_notice_deliveries_due ON notice_deliveries (state, next_at);
CREATE INDEX ix_notice_deliveries_user ON notice_deliveries (user_id, notice_id);

-- One-time subscribe message grants: each accept in the mini-program's
-- requestSubscribeMessage allows one message of that template.
CREATE TABLE subscriptions (
  user_id BIGINT UNSIGNED NOT NULL,
  template_id VARCHAR(64) NOT NULL,
  remaining INT NOT NULL DEFAULT 0,
  last_result VARCHAR(16) NOT NULL,
  updated_at {{TIME}} NOT NULL,
  PRIMARY KEY (user_id, template_id),
  CONSTRAINT ck_subscriptions_remaining CHECK (remaining >= 0),
  CONSTRAINT fk_subscriptions_user FOREIGN KEY (user_id) REFERENCES users (id)
) {{TABLE}};

-- +goose Down
DROP TABLE subscriptions;
DROP TABLE notice_deliveries;
DROP TABLE notice_targets;
DROP TABLE notices;
