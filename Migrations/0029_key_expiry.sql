-- Idempotency keys expire, so the tables that hold them stop growing with every request ever made.
-- Usage keys are kept 36 days: an event may arrive up to 35 days after it occurred (and 5 minutes
-- ahead), so a retry of an event whose key is gone is refused as too old and still never counted
-- twice. The HTTP layer's keys answer for 24 hours (migration 0003). Both are deleted by the
-- platform role in short chunks, oldest first, found by the time they were written.
CREATE INDEX usage_event_keys_received ON usage_event_keys (received_at);
GRANT DELETE ON usage_event_keys TO jarvis_platform;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (created_at);
GRANT SELECT, DELETE ON idempotency_keys TO jarvis_platform;
