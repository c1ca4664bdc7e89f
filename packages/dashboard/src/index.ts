export {
  assetsPath,
  type BuiltFile,
  buildDashboard,
  type DashboardBundle,
  dashboardSourceHash,
  distDir,
  readDashboard,
  webDir,
  writeDashboard,
} from "./build.ts";
export { dashboardExtension } from "./extension.ts";
