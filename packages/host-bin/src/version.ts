import packageJson from "../package.json" with { type: "json" };

/** The Dispatch version this binary reports (in /health, status.json and `--version`). */
export const hostVersion: string = packageJson.version;
