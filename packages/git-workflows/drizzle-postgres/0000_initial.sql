CREATE TABLE "git_workflows_bindings" (
	"conversation_id" text PRIMARY KEY NOT NULL,
	"worktree_id" text NOT NULL,
	"attempt" integer
);
--> statement-breakpoint
CREATE TABLE "git_workflows_worktrees" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"title" text,
	"path" text NOT NULL,
	"branch" text NOT NULL,
	"base_ref" text NOT NULL,
	"base_sha" text,
	"prefix" text DEFAULT '' NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"state" text NOT NULL,
	"remove_requested" boolean DEFAULT false NOT NULL,
	"holder_kind" text,
	"holder_id" text,
	"holder_attempt" integer,
	"holder_conversation_id" text,
	"holder_token" text,
	"holder_since" bigint,
	"holder_instance" text,
	"admits_turn" boolean DEFAULT false NOT NULL,
	"commits" text DEFAULT '[]' NOT NULL,
	"push_status" text,
	"push_error" text,
	"push_attempts" integer DEFAULT 0 NOT NULL,
	"next_push_at" bigint,
	"pushed_sha" text,
	"last_used_at" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "git_workflows_bindings" ADD CONSTRAINT "git_workflows_bindings_worktree_id_git_workflows_worktrees_id_fk" FOREIGN KEY ("worktree_id") REFERENCES "public"."git_workflows_worktrees"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "git_workflows_bindings_worktree_idx" ON "git_workflows_bindings" USING btree ("worktree_id");--> statement-breakpoint
CREATE INDEX "git_workflows_worktrees_push_idx" ON "git_workflows_worktrees" USING btree ("next_push_at") WHERE "git_workflows_worktrees"."push_status" = 'pending';--> statement-breakpoint
CREATE INDEX "git_workflows_worktrees_used_idx" ON "git_workflows_worktrees" USING btree ("last_used_at") WHERE "git_workflows_worktrees"."state" = 'active';--> statement-breakpoint
CREATE INDEX "git_workflows_worktrees_workspace_idx" ON "git_workflows_worktrees" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "git_workflows_worktrees_instance_idx" ON "git_workflows_worktrees" USING btree ("holder_instance") WHERE "git_workflows_worktrees"."holder_token" is not null;