export { type MemorySample, type MemoryTelemetry, memoryTelemetryRef, type PressureLevel } from "./types.ts";
