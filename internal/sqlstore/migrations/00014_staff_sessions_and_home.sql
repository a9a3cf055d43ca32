-- Staff accounts (issue #12 items 1 and 7): session_epoch counts password
-- changes, and every token carries the epoch it was issued in, so that a
-- changed password ends every other session of the account; home_scope is
-- where the account was created from the console (a community or a
-- subdistrict), so that it stays in its creator's staff list when it holds
-- no grant.
-- +goose Up
ALTER TABLE staff_accounts ADD COLUMN session_epoch INT NOT NULL DEFAULT 0;
ALTER TABLE staff_accounts ADD COLUMN password_changed_at {{TIME}} NULL;
ALTER TABLE staff_accounts ADD COLUMN home_scope_type VARCHAR(16) NULL;
ALTER TABLE staff_accounts ADD COLUMN home_scope_id BIGINT UNSIGNED NULL;

-- +goose Down
ALTER TABLE staff_accounts DROP COLUMN home_scope_id;
ALTER TABLE staff_accounts DROP COLUMN home_scope_type;
ALTER TABLE staff_accounts DROP COLUMN password_changed_at;
ALTER TABLE staff_accounts DROP COLUMN session_epoch;
