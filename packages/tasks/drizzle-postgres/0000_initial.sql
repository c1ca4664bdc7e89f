CREATE TABLE "tasks_attempts" (
	"task_id" text NOT NULL,
	"n" integer NOT NULL,
	"conversation_id" text,
	"turn_id" text,
	"status" text NOT NULL,
	"started_at" bigint NOT NULL,
	"ended_at" bigint,
	"error" text,
	CONSTRAINT "tasks_attempts_task_id_n_pk" PRIMARY KEY("task_id","n")
);
--> statement-breakpoint
CREATE TABLE "tasks_breakers" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"failures" integer NOT NULL,
	"open_until" bigint
);
--> statement-breakpoint
CREATE TABLE "tasks_claim_lock" (
	"id" integer PRIMARY KEY NOT NULL,
	"last_started_at" bigint
);
--> statement-breakpoint
CREATE TABLE "tasks_days" (
	"day" text PRIMARY KEY NOT NULL,
	"attempts" integer NOT NULL,
	"tokens" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" integer NOT NULL,
	"workspace_id" text NOT NULL,
	"title" text NOT NULL,
	"spec" text NOT NULL,
	"status" text NOT NULL,
	"priority" integer NOT NULL,
	"rank" integer NOT NULL,
	"attempt" integer NOT NULL,
	"max_attempts" integer NOT NULL,
	"options" text NOT NULL,
	"claim_day" text,
	"next_run_at" bigint NOT NULL,
	"conversation_id" text,
	"instance_id" text,
	"last_error" text,
	"result" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks_attempts" ADD CONSTRAINT "tasks_attempts_task_id_tasks_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks_tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tasks_attempts_started_idx" ON "tasks_attempts" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "tasks_attempts_turn_idx" ON "tasks_attempts" USING btree ("turn_id");--> statement-breakpoint
CREATE INDEX "tasks_tasks_claim_idx" ON "tasks_tasks" USING btree ("rank","priority" DESC NULLS LAST,"created_at","seq") WHERE "tasks_tasks"."status" in ('queued', 'stuck');--> statement-breakpoint
CREATE INDEX "tasks_tasks_aged_idx" ON "tasks_tasks" USING btree ("rank","created_at") WHERE "tasks_tasks"."status" in ('queued', 'stuck');--> statement-breakpoint
CREATE INDEX "tasks_tasks_status_idx" ON "tasks_tasks" USING btree ("status","seq");--> statement-breakpoint
CREATE INDEX "tasks_tasks_workspace_idx" ON "tasks_tasks" USING btree ("workspace_id","seq");--> statement-breakpoint
CREATE INDEX "tasks_tasks_instance_idx" ON "tasks_tasks" USING btree ("instance_id") WHERE "tasks_tasks"."status" = 'running';