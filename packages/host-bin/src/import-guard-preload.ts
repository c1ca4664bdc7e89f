/** Preloaded by `dispatch test` (`bun test --preload`), so an extension's tests get the serve-time checks. */
import { installImportGuard } from "./import-guard.ts";

installImportGuard();
