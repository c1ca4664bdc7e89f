import { existsSync } from "node:fs";
import { type BrowserContext, chromium } from "playwright-core";
import { tempDir } from "./dispatch-process.ts";

/** Debian's Chromium, installed by bin/lib/ensure-chromium.sh (Playwright's own download cannot run here). */
export const chromiumPath = "/usr/bin/chromium";

/**
 * Starts headless Chromium with a fresh profile (`--user-data-dir` in a temp dir removed by
 * `cleanup()`), with nothing that reaches past loopback: no background networking, component
 * updates, sync or QUIC. Throws with what to run when Chromium is missing.
 */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run bin/lib/ensure-chromium.sh (bin/test runs it) to install Debian's chromium`,
    );
  }
  return await chromium.launchPersistentContext(tempDir("dispatch-chromium-"), {
    executablePath: chromiumPath,
    headless: true,
    viewport,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
