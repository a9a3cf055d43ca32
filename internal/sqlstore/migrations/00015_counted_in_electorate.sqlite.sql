-- A counted ballot belongs to its motion's electorate (see the MySQL
-- migration of the same number). SQLite cannot add a foreign key to a
-- table, so two triggers refuse a counted ballot outside the electorate;
-- the rows already there are checked first (a CHECK that fails names the
-- problem).
-- +goose Up
CREATE TEMP TABLE counted_outside_electorate (
  n INTEGER CONSTRAINT counted_ballots_outside_electorate CHECK (n = 0)
);
INSERT INTO counted_outside_electorate (n)
  SELECT COUNT(*) FROM counted_ballots c
  WHERE NOT EXISTS (SELECT 1 FROM motion_electorate e WHERE e.motion_id = c.motion_id AND e.household_id = c.household_id);
DROP TABLE counted_outside_electorate;

-- +goose StatementBegin
CREATE TRIGGER counted_ballots_in_electorate_insert BEFORE INSERT ON counted_ballots
WHEN NOT EXISTS (SELECT 1 FROM motion_electorate e WHERE e.motion_id = NEW.motion_id AND e.household_id = NEW.household_id)
BEGIN
  SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: counted ballot outside the motion''s electorate');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER counted_ballots_in_electorate_update BEFORE UPDATE OF motion_id, household_id ON counted_ballots
WHEN NOT EXISTS (SELECT 1 FROM motion_electorate e WHERE e.motion_id = NEW.motion_id AND e.household_id = NEW.household_id)
BEGIN
  SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: counted ballot outside the motion''s electorate');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER counted_ballots_in_electorate_update;
DROP TRIGGER counted_ballots_in_electorate_insert;
