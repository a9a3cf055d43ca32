-- A counted ballot belongs to its motion's electorate: held by the
-- database, not only by the ballot path's checks. Adding the key checks the
-- rows already there; if one is outside the electorate the migration fails
-- (and the server does not start) rather than hide it.
-- +goose Up
ALTER TABLE counted_ballots ADD CONSTRAINT fk_counted_ballots_electorate
  FOREIGN KEY (motion_id, household_id) REFERENCES motion_electorate (motion_id, household_id);

-- +goose Down
ALTER TABLE counted_ballots DROP FOREIGN KEY fk_counted_ballots_electorate;
