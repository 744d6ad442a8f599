import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script, without type declarations
import { generate, stale } from "../../scripts/gen-types.mjs";

describe("generated types", () => {
  it("are what shared/schema gives (run `npm run gen-types` after `make schema`)", async () => {
    expect(stale(await generate())).toEqual([]);
  }, 30_000);
});
