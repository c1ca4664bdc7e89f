/**
 * `dispatch new-extension DIR`: writes a small working extension (a route and a bus subscription), its
 * `createTestHost` test, a package.json and the tsconfig outside extensions type-check with, from
 * `templates/new-extension/`, then links the host's packages into it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { repoRoot } from "./host-packages.ts";
import { type LinkReport, linkExtension } from "./link-extension.ts";

/** Where the scaffold's files come from; `__ID__` in names and contents becomes the extension id. */
export const templateDir = resolve(import.meta.dir, "../templates/new-extension");
const slug = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** What `newExtension` made. */
export interface NewExtension {
  id: string;
  dir: string;
  /** Paths relative to `dir`. */
  files: string[];
  link: LinkReport;
}

/** Scaffolds an extension in `dir`, which must not exist or be empty; its name is the extension id. */
export function newExtension(dir: string, root: string = repoRoot): NewExtension {
  const target = resolve(dir);
  const id = basename(target);
  if (!slug.test(id)) {
    throw new DispatchError(
      "bad_extension_id",
      `cannot name an extension "${id}": the directory's name becomes the extension id, which must be a lowercase slug (a-z, 0-9, -), such as my-ext`,
    );
  }
  refuseExisting(target);
  const files = scaffoldFiles(id);
  for (const [path, content] of files) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), content);
  }
  return { id, dir: target, files: [...files.keys()], link: linkExtension(target, root) };
}

/** The scaffold's files for `id`: relative path → content. */
export function scaffoldFiles(id: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const path of templateFiles(templateDir)) {
    const written = relative(templateDir, path)
      .replaceAll("__ID__", id)
      .replace(/^gitignore$/, ".gitignore");
    files.set(written, readFileSync(path, "utf8").replaceAll("__ID__", id));
  }
  return files;
}

function templateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? templateFiles(join(dir, entry.name)) : [join(dir, entry.name)],
    )
    .sort();
}

/** Nothing of the author's is ever overwritten: only a new or empty directory is written into. */
function refuseExisting(target: string): void {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) {
    throw new DispatchError("not_a_directory", `${target} exists and is not a directory; choose a new path`);
  }
  const entries = readdirSync(target);
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? ", …" : "");
    throw new DispatchError(
      "directory_not_empty",
      `${target} is not empty (${shown}); new-extension only writes into a new or empty directory, so choose another path or empty this one`,
    );
  }
}
