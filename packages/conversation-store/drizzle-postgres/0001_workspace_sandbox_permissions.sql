ALTER TABLE "workspaces" ADD COLUMN "network" boolean;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "permissions" text DEFAULT '{}' NOT NULL;