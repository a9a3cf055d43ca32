-- A candidate's option on the ballot is unique within its election: two
-- candidates on one key would split or merge their votes. Candidates off
-- the ballot hold NULL, which a unique index allows many times over.
-- +goose Up
CREATE UNIQUE INDEX uq_candidates_option ON candidates (election_id, option_key);

-- +goose Down
DROP INDEX uq_candidates_option{{ON candidates}};
