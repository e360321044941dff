-- API keys carry a tag (a MAC of id and secret under a key derived from the pepper) so the server
-- refuses keys that were never issued without a lookup. Keys issued before have none: they stay
-- valid, and the server keeps their ids in memory (LegacyKeyIDs) to tell them from forgeries.
-- The default is false so a key written by an instance of the previous version counts as one of those.
ALTER TABLE api_keys ADD COLUMN tagged boolean NOT NULL DEFAULT false;
CREATE INDEX api_keys_untagged ON api_keys (key_id) WHERE NOT tagged;
