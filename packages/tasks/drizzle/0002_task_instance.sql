ALTER TABLE `tasks_tasks` ADD `instance_id` text;--> statement-breakpoint
CREATE INDEX `tasks_tasks_instance_idx` ON `tasks_tasks` (`instance_id`) WHERE "tasks_tasks"."status" = 'running';