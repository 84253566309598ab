import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The market data the tests read, kept in the repository (tests/fixtures/data/README.md says where it is from). */
export const sharedData = resolve(import.meta.dirname, '../fixtures/data');

/** Path of a shared data file; throws (the test fails loudly) when it is missing. */
export function sharedFile(relative: string): string {
  const file = resolve(sharedData, relative);
  if (!existsSync(file)) {
    throw new Error(`test data file missing: ${file} (see tests/fixtures/data/README.md)`);
  }
  return file;
}
