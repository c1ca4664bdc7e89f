import { createServiceRef } from "@dispatch/kernel";
import type { UsageQuery, UsageReport } from "@dispatch/wire";

/** The `usage` extension's service: the sums `GET /usage` answers with. */
export interface UsageService {
  report(query: UsageQuery): Promise<UsageReport>;
}

/** The service ref of `UsageService`. */
export const usageRef = createServiceRef<UsageService>("usage");
