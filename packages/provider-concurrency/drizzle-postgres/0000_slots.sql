CREATE TABLE "provider_concurrency_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"provider_id" text NOT NULL,
	"instance_id" text NOT NULL,
	"waiter_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"turn_id" text,
	"granted_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_concurrency_limits" (
	"provider_id" text PRIMARY KEY NOT NULL,
	"max_concurrent" integer NOT NULL,
	"cooling_until" bigint
);
--> statement-breakpoint
CREATE TABLE "provider_concurrency_waiters" (
	"id" text PRIMARY KEY NOT NULL,
	"provider_id" text NOT NULL,
	"instance_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"starred" boolean NOT NULL,
	"prompt_started_at" bigint NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "provider_concurrency_waiters_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"turn_id" text,
	"conversation_id" text,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "provider_concurrency_leases_provider_idx" ON "provider_concurrency_leases" USING btree ("provider_id");--> statement-breakpoint
CREATE INDEX "provider_concurrency_leases_instance_idx" ON "provider_concurrency_leases" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX "provider_concurrency_leases_waiter_idx" ON "provider_concurrency_leases" USING btree ("waiter_id");--> statement-breakpoint
CREATE INDEX "provider_concurrency_waiters_order_idx" ON "provider_concurrency_waiters" USING btree ("provider_id","prompt_started_at","seq");--> statement-breakpoint
CREATE INDEX "provider_concurrency_waiters_instance_idx" ON "provider_concurrency_waiters" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX "provider_concurrency_waiters_workspace_idx" ON "provider_concurrency_waiters" USING btree ("workspace_id");