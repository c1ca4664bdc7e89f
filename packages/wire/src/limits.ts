/** Length limits shared by the store and the HTTP edge. */
export const limits = {
  workspaceName: 200,
  workspaceRoot: 4096,
  hostId: 63,
  conversationTitle: 500,
  modelName: 200,
  runnerName: 165,
  /** Default cap on a user message's text; the store's `maxMessageBytes` config can change it. */
  messageTextBytes: 1024 * 1024,
  /** Cap on one event's JSON payload. */
  eventPayloadBytes: 256 * 1024,
  /** Items a list answers when no `limit` is given. */
  pageDefault: 100,
  /** The largest `limit` a list accepts. */
  pageMax: 500,
  /** The longest `cursor` a list accepts (the ones it gives out are far shorter). */
  cursorLength: 2048,
  /** Permission rules per workspace (and in `tools.permissions`). */
  permissionRules: 500,
  /** Length of one permission rule's key. */
  permissionRuleKey: 2048,
} as const;

/** Workspace and extension ids: lowercase slugs. */
export const slugPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A permission rule key: a tool name or `*`, then optionally `:` and a glob (non-empty). */
export const permissionRulePattern = /^(?:\*|[a-zA-Z0-9_-]{1,64})(?::[\s\S]+)?$/;
