-- Which instance runs the request that holds an idempotency key: the key of that instance's
-- session-level advisory lock (class 'JRIN'). A retry may take the key over as soon as that lock
-- is free, that is as soon as the instance is gone, instead of waiting for the reservation to age.
ALTER TABLE idempotency_keys ADD COLUMN owner integer;
