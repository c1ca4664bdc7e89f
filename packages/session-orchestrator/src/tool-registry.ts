import { DispatchError } from "@dispatch/kernel";
import { type ToolSpec, toolSpecFromZod } from "@dispatch/providers";
import type { ToolDefinition, ToolRegistry } from "./types.ts";

/** Tool names as model APIs accept them (Anthropic and OpenAI both allow this set). */
const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * The orchestrator's tool registry: a Map keyed by name. `register` returns the function that removes
 * the tool again, so an extension's disposer takes away exactly what it added.
 */
export class MapToolRegistry implements ToolRegistry {
  readonly #tools = new Map<string, ToolDefinition>();
  readonly #specs = new WeakMap<ToolDefinition, ToolSpec>();

  /** Adds a tool; a second tool with the same name is refused with `conflict`. */
  register<I>(tool: ToolDefinition<I>): () => void {
    if (!toolNamePattern.test(tool.name)) {
      throw new DispatchError(
        "invalid_request",
        `Expected tool \`name\` to match ${toolNamePattern}, got \`${tool.name}\``,
      );
    }
    if (this.#tools.has(tool.name)) {
      throw new DispatchError("conflict", `a tool named "${tool.name}" is already registered`);
    }
    // The registry stores tools type-erased; `run` only ever receives what `input` parsed.
    const erased = tool as unknown as ToolDefinition;
    this.#tools.set(tool.name, erased);
    return () => {
      if (this.#tools.get(tool.name) === erased) this.#tools.delete(tool.name);
    };
  }

  /** The tool with that name, if registered. */
  get(name: string): ToolDefinition | undefined {
    return this.#tools.get(name);
  }

  /** Every registered tool, in registration order. */
  list(): ToolDefinition[] {
    return [...this.#tools.values()];
  }

  /** The tool as the model sees it (JSON schema from its zod input), built once per definition. */
  specOf(tool: ToolDefinition): ToolSpec {
    let spec = this.#specs.get(tool);
    if (spec === undefined) {
      try {
        spec = toolSpecFromZod(tool.name, tool.description, tool.input);
      } catch {
        // A schema zod cannot express as JSON schema (a transform, say) still gets a permissive object;
        // `run` only ever sees input that the zod schema accepted.
        spec = { name: tool.name, description: tool.description, inputSchema: { type: "object" } };
      }
      this.#specs.set(tool, spec);
    }
    return spec;
  }
}
