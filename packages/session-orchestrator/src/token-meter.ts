import { charsPerToken, type ModelRequest, promptChars } from "@dispatch/providers";

/**
 * Prompt sizes in tokens: `charsPerToken` characters a token until a provider reports a count, then
 * that call's own rate (its reported input tokens over its prompt's characters).
 */
export class TokenMeter {
  #tokensPerChar: number;
  #calibrated: boolean;

  /** Starts from a rate learnt earlier (a previous turn of the conversation), if any. */
  constructor(learnt?: number) {
    this.#calibrated = learnt !== undefined;
    this.#tokensPerChar = learnt ?? 1 / charsPerToken;
  }

  /** True while no provider count has been seen: the sizes are the plain estimate. */
  get estimated(): boolean {
    return !this.#calibrated;
  }

  /** The rate in use, for the next turn of the conversation. */
  get rate(): number | undefined {
    return this.#calibrated ? this.#tokensPerChar : undefined;
  }

  /** The prompt's size in tokens. */
  tokens(request: Pick<ModelRequest, "system" | "messages" | "tools">): number {
    return this.charsToTokens(promptChars(request));
  }

  /** A number of prompt characters in tokens. */
  charsToTokens(chars: number): number {
    return Math.ceil(chars * this.#tokensPerChar);
  }

  /** Tokens in characters (rounded down), for cutting text to fit. */
  tokensToChars(tokens: number): number {
    return Math.floor(tokens / this.#tokensPerChar);
  }

  /** A text's size in tokens at the same rate. */
  textTokens(text: string): number {
    return Math.ceil(text.length * this.#tokensPerChar);
  }

  /** Learns the rate from a call's reported input tokens. */
  calibrate(request: Pick<ModelRequest, "system" | "messages" | "tools">, inputTokens: number): void {
    const chars = promptChars(request);
    if (inputTokens <= 0 || chars <= 0) return;
    this.#tokensPerChar = inputTokens / chars;
    this.#calibrated = true;
  }
}
