-- A claim is one UPDATE of tasks_tasks (see TaskQueue.claim); this trigger records what that start
-- means in the same statement: the attempt row, the time of the last start (cooldown) and the day's
-- counter row (budget), so nothing can claim between the check and the bookkeeping.
CREATE TRIGGER `tasks_tasks_claimed` AFTER UPDATE OF `status` ON `tasks_tasks`
WHEN NEW.status = 'running' AND OLD.status IN ('queued', 'stuck')
BEGIN
  INSERT INTO `tasks_attempts` (`task_id`, `n`, `status`, `started_at`) VALUES (NEW.id, NEW.attempt, 'running', NEW.updated_at);
  INSERT INTO `tasks_claim_lock` (`id`, `last_started_at`) VALUES (1, NEW.updated_at)
    ON CONFLICT (`id`) DO UPDATE SET `last_started_at` = excluded.`last_started_at`;
  INSERT INTO `tasks_days` (`day`, `attempts`, `tokens`) VALUES (NEW.claim_day, 1, 0)
    ON CONFLICT (`day`) DO UPDATE SET `attempts` = `attempts` + 1;
END;
