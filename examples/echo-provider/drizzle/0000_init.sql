CREATE TABLE `echo_calls` (
	`provider_id` text PRIMARY KEY NOT NULL,
	`calls` integer NOT NULL,
	`last_call_at` integer NOT NULL
);
