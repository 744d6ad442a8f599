import { describe, expect, it } from "vitest";
import { metricText } from "./format";

describe("metricText", () => {
  it("says why a divergence is undefined, never NaN", () => {
    // the server's metrics of a nonzero signal against a zero reference (divergence.py)
    const zeroRef = { cosine: 0, rel_l2: null, max_abs: 0.125 };
    expect(metricText(zeroRef, "rel_l2")).toEqual({ text: "—", why: "undefined: the reference is zero here; max |Δ| = 0.125" });
    expect(metricText(zeroRef, "cosine").text).toBe("0");
    const blown = { cosine: null, rel_l2: null, max_abs: null };
    expect(metricText(blown, "rel_l2")).toEqual({ text: "—", why: "undefined: a signal is not finite (NaN/Inf)" });
    expect(metricText(undefined, "rel_l2").text).toBe("—");
    for (const m of [zeroRef, blown]) for (const k of ["cosine", "rel_l2", "max_abs"] as const) {
      expect(metricText(m, k).text).not.toContain("NaN");
    }
  });

  it("prints numbers, shorter on cards", () => {
    expect(metricText({ cosine: 1, rel_l2: 0.123456, max_abs: 0 }, "rel_l2")).toEqual({ text: "0.123", why: "" });
    expect(metricText({ cosine: 1, rel_l2: 0.123456, max_abs: 0 }, "rel_l2", true).text).toBe("0.12");
    expect(metricText({ cosine: 1, rel_l2: 3e-17, max_abs: 0 }, "rel_l2", true).text).toBe("3e-17");
    expect(metricText({ cosine: 1, rel_l2: 0, max_abs: 0 }, "max_abs").text).toBe("0");
  });
});
