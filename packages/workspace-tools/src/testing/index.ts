export { pidsOf, readAll, readUntil } from "./session-output.ts";
