CREATE TABLE `queued_messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`text` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `queued_messages_id_unique` ON `queued_messages` (`id`);--> statement-breakpoint
CREATE INDEX `queued_messages_conversation_idx` ON `queued_messages` (`conversation_id`,`seq`);