-- Drop sessions.

DROP TABLE sessions;
DROP FUNCTION guard_session_update();
