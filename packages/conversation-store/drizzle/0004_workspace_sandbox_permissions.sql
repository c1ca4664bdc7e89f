ALTER TABLE `workspaces` ADD `network` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `permissions` text DEFAULT '{}' NOT NULL;