-- Two more tables that grew with use and were never trimmed. Refresh tokens: every login and every
-- refresh adds one; a family's rows are deleted 30 days after its newest token expired (until then
-- a spent token presented again still revokes what is left and raises the alert). Webhook
-- deliveries: finished ones (delivered or failed) are kept 30 days; pending ones until they finish.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
GRANT DELETE ON refresh_tokens TO jarvis_platform;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status <> 'pending';
GRANT DELETE ON webhook_deliveries TO jarvis_platform;
