/**
 * parad/testing/vitest: vitest matchers for the checks of parad/testing. Importing this module
 * registers them:
 *
 *   import 'parad/testing/vitest';
 *   expect({ mod, kernel: 'blur', args: { sizes: { out: 8, inp: 8, w: 3, n: 8 } } }).toPassAdjointTest();
 *   expect({ mod, kernel: 'blur', args }).toPassTangentTest({ tolerance: 1e-5 });
 *
 * A failure shows where the largest error is (`out[3]`, `return`, `adjoint of w`) and the numbers.
 */
import { expect } from 'vitest';
import {
  checkAdjoint,
  checkTangent,
  type ArgsInput,
  type CheckOptions,
  type CheckResult,
  type DerivativeModule,
} from './index.js';

/** What the matchers expect to receive. */
export interface KernelUnderTest {
  /** The generated module (its namespace object). */
  mod: DerivativeModule;
  /** The kernel's name. */
  kernel: string;
  /** Arguments by parameter name, or a `makeArgs` recipe (`{ sizes: {...} }`). */
  args: ArgsInput;
}

export interface ParadMatchers<R = unknown> {
  /** K_d agrees with central finite differences of K (see `checkTangent`). */
  toPassTangentTest(opts?: CheckOptions): R;
  /** K_b passes the dot-product test against K_d (see `checkAdjoint`). */
  toPassAdjointTest(opts?: CheckOptions): R;
}

declare module 'vitest' {
  interface Matchers<T = any> extends ParadMatchers<T> {}
}

type Check = (mod: DerivativeModule, kernel: string, args: ArgsInput, opts?: CheckOptions) => CheckResult;

function isKernelUnderTest(v: unknown): v is KernelUnderTest {
  const r = v as Partial<KernelUnderTest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.mod === 'object' &&
    typeof r.kernel === 'string' &&
    typeof r.args === 'object'
  );
}

function matcher(check: Check, name: keyof ParadMatchers) {
  return function (this: { isNot: boolean }, received: unknown, opts?: CheckOptions) {
    if (!isKernelUnderTest(received)) {
      throw new TypeError(
        `${name}: expected { mod, kernel, args } (the generated module, the kernel's name and its arguments)`,
      );
    }
    const result = check(received.mod, received.kernel, received.args, opts);
    return {
      pass: result.ok,
      message: () =>
        this.isNot
          ? `expected the ${result.check} check of ${result.kernel} to fail, but it passed: ${result.message}`
          : result.message,
    };
  };
}

/** The matchers, for `expect.extend(paradMatchers)` in another `expect` instance. */
export const paradMatchers = {
  toPassTangentTest: matcher(checkTangent, 'toPassTangentTest'),
  toPassAdjointTest: matcher(checkAdjoint, 'toPassAdjointTest'),
};

expect.extend(paradMatchers);
