export { ActivityLog, type ActivityLogOptions, parseActivityId } from "./activity-log.ts";
export { maxActivityPage } from "./activity-routes.ts";
export { type ActivitySource, activitySourcesPoint, defineActivitySource } from "./activity-sources.ts";
export { builtinActivitySources } from "./builtin-sources.ts";
export { type ActivityConfig, activityConfigSchema } from "./config.ts";
export { activityExtension } from "./extension.ts";
export { type ActivityInput, type ActivityListener, type ActivityService, activityRef } from "./types.ts";
