export { type GitConfig, gitConfigSchema } from "./config.ts";
export { gitWorkflowsExtension } from "./extension.ts";
export { type GitOutput, GitRunner, type GitRunOptions, gitMessage, shellWord } from "./git-command.ts";
export { KeyedMutex } from "./keyed-mutex.ts";
export { OutputTail } from "./output-tail.ts";
export { runValidation, type ValidationRequest, validationTailBytes } from "./validation.ts";
