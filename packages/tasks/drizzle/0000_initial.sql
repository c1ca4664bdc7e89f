CREATE TABLE `tasks_attempts` (
	`task_id` text NOT NULL,
	`n` integer NOT NULL,
	`conversation_id` text,
	`turn_id` text,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`error` text,
	PRIMARY KEY(`task_id`, `n`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks_tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tasks_attempts_started_idx` ON `tasks_attempts` (`started_at`);--> statement-breakpoint
CREATE INDEX `tasks_attempts_turn_idx` ON `tasks_attempts` (`turn_id`);--> statement-breakpoint
CREATE TABLE `tasks_breakers` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`open_until` integer
);
--> statement-breakpoint
CREATE TABLE `tasks_claim_lock` (
	`id` integer PRIMARY KEY NOT NULL,
	`last_started_at` integer
);
--> statement-breakpoint
CREATE TABLE `tasks_days` (
	`day` text PRIMARY KEY NOT NULL,
	`attempts` integer NOT NULL,
	`tokens` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tasks_tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`workspace_id` text NOT NULL,
	`title` text NOT NULL,
	`spec` text NOT NULL,
	`status` text NOT NULL,
	`priority` integer NOT NULL,
	`rank` integer NOT NULL,
	`attempt` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`options` text NOT NULL,
	`claim_day` text,
	`next_run_at` integer NOT NULL,
	`conversation_id` text,
	`last_error` text,
	`result` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_tasks_claim_idx` ON `tasks_tasks` (`rank`,"priority" desc,`created_at`,`seq`) WHERE "tasks_tasks"."status" in ('queued', 'stuck');--> statement-breakpoint
CREATE INDEX `tasks_tasks_aged_idx` ON `tasks_tasks` (`rank`,`created_at`) WHERE "tasks_tasks"."status" in ('queued', 'stuck');--> statement-breakpoint
CREATE INDEX `tasks_tasks_status_idx` ON `tasks_tasks` (`status`,`seq`);--> statement-breakpoint
CREATE INDEX `tasks_tasks_workspace_idx` ON `tasks_tasks` (`workspace_id`,`seq`);