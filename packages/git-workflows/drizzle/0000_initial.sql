CREATE TABLE `git_workflows_bindings` (
	`conversation_id` text PRIMARY KEY NOT NULL,
	`worktree_id` text NOT NULL,
	`attempt` integer,
	FOREIGN KEY (`worktree_id`) REFERENCES `git_workflows_worktrees`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `git_workflows_bindings_worktree_idx` ON `git_workflows_bindings` (`worktree_id`);--> statement-breakpoint
CREATE TABLE `git_workflows_worktrees` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`title` text,
	`path` text NOT NULL,
	`branch` text NOT NULL,
	`base_ref` text NOT NULL,
	`base_sha` text,
	`prefix` text DEFAULT '' NOT NULL,
	`generation` integer DEFAULT 0 NOT NULL,
	`state` text NOT NULL,
	`remove_requested` integer DEFAULT false NOT NULL,
	`holder_kind` text,
	`holder_id` text,
	`holder_attempt` integer,
	`holder_conversation_id` text,
	`holder_token` text,
	`holder_since` integer,
	`admits_turn` integer DEFAULT false NOT NULL,
	`commits` text DEFAULT '[]' NOT NULL,
	`push_status` text,
	`push_error` text,
	`push_attempts` integer DEFAULT 0 NOT NULL,
	`next_push_at` integer,
	`pushed_sha` text,
	`last_used_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `git_workflows_worktrees_push_idx` ON `git_workflows_worktrees` (`next_push_at`) WHERE "git_workflows_worktrees"."push_status" = 'pending';--> statement-breakpoint
CREATE INDEX `git_workflows_worktrees_used_idx` ON `git_workflows_worktrees` (`last_used_at`) WHERE "git_workflows_worktrees"."state" = 'active';--> statement-breakpoint
CREATE INDEX `git_workflows_worktrees_workspace_idx` ON `git_workflows_worktrees` (`workspace_id`);