-- Issuing new invite codes for a household revokes its unused ones, so that
-- a lost or superseded slip stops working (issue #10 §5).
-- +goose Up
ALTER TABLE invite_codes ADD COLUMN revoked_at {{TIME}} NULL;

-- +goose Down
ALTER TABLE invite_codes DROP COLUMN revoked_at;
