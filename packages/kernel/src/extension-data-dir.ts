import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * `<dataDir>/extensions/<id>`, the one directory an extension owns on disk, created on first use so
 * that extensions which never write anything leave nothing behind. Ids are slugs, so the path stays
 * inside `extensions/`.
 */
export function extensionDataDir(dataDir: string, id: string): string {
  const dir = join(dataDir, "extensions", id);
  mkdirSync(dir, { recursive: true });
  return dir;
}
