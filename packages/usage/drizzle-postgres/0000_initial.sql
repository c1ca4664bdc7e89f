CREATE TABLE "usage_calls" (
	"id" text PRIMARY KEY NOT NULL,
	"turn_id" text NOT NULL,
	"conversation_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"input_tokens" integer NOT NULL,
	"output_tokens" integer NOT NULL,
	"cached_input_tokens" integer NOT NULL,
	"estimated" boolean NOT NULL,
	"cost" double precision,
	"at" bigint NOT NULL,
	"day" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_daily" (
	"scope" text NOT NULL,
	"day" text NOT NULL,
	"tokens" bigint NOT NULL,
	CONSTRAINT "usage_daily_scope_day_pk" PRIMARY KEY("scope","day")
);
--> statement-breakpoint
CREATE TABLE "usage_reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"turn_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"day" text NOT NULL,
	"tokens" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"instance_id" text
);
--> statement-breakpoint
CREATE INDEX "usage_calls_workspace_at_idx" ON "usage_calls" USING btree ("workspace_id","at");--> statement-breakpoint
CREATE INDEX "usage_calls_at_idx" ON "usage_calls" USING btree ("at");--> statement-breakpoint
CREATE INDEX "usage_calls_turn_idx" ON "usage_calls" USING btree ("turn_id");--> statement-breakpoint
CREATE INDEX "usage_reservations_day_idx" ON "usage_reservations" USING btree ("day","workspace_id");--> statement-breakpoint
CREATE INDEX "usage_reservations_turn_idx" ON "usage_reservations" USING btree ("turn_id");