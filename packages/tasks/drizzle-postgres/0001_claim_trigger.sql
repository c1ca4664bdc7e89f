-- Hand-written (drizzle-kit generate --custom): the Postgres form of the SQLite claim trigger
-- (drizzle/0001_claim_trigger.sql). A claim is one UPDATE of tasks_tasks; this trigger records what
-- that start means in the same statement: the attempt row, the time of the last start (cooldown)
-- and the day's counter row (budget).
CREATE FUNCTION tasks_tasks_claimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tasks_attempts (task_id, n, status, started_at) VALUES (NEW.id, NEW.attempt, 'running', NEW.updated_at);
  INSERT INTO tasks_claim_lock (id, last_started_at) VALUES (1, NEW.updated_at)
    ON CONFLICT (id) DO UPDATE SET last_started_at = excluded.last_started_at;
  INSERT INTO tasks_days (day, attempts, tokens) VALUES (NEW.claim_day, 1, 0)
    ON CONFLICT (day) DO UPDATE SET attempts = tasks_days.attempts + 1;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER tasks_tasks_claimed AFTER UPDATE OF status ON tasks_tasks
FOR EACH ROW WHEN (NEW.status = 'running' AND OLD.status IN ('queued', 'stuck'))
EXECUTE FUNCTION tasks_tasks_claimed();
