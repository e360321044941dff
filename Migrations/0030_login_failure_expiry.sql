-- Failed sign-ins for addresses that never sign in successfully (mistyped, guessed, or a flood of
-- made-up ones) were kept forever. A count starts again a day after the last failure, so a row
-- older than that which holds no lockout decides nothing: the platform role deletes such rows in
-- short chunks, found by the time of their last failure.
CREATE INDEX login_failures_last ON login_failures (last_failure_at);
