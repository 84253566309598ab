import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The shared data folder (../shared/data beside the checkout). */
export const sharedData = resolve(process.cwd(), '../shared/data');

/** Path of a shared data file; throws (the test fails loudly) when it is missing. */
export function sharedFile(relative: string): string {
  const file = resolve(sharedData, relative);
  if (!existsSync(file)) {
    throw new Error(`shared data file missing: ${file}. Tests need ../shared/data beside the checkout (see ../shared/data/README.md).`);
  }
  return file;
}
