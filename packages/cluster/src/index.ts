export { type ClusterConfig, clusterConfigSchema } from "./config.ts";
export { clusterExtension } from "./extension.ts";
export { InstanceRegistry, type InstanceRegistryDeps, lostChannel } from "./instance-registry.ts";
export { type ClusterInstance, type ClusterService, clusterRef } from "./types.ts";
