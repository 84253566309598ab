import { readFileSync } from 'node:fs';
import { FeedUnavailableError } from './feed.js';

/**
 * Reads a whole feed file as UTF-8 text without a byte-order mark. Whole-file reads are
 * deliberate: files are at most tens of MB, and one string lets the feeds parse lines lazily
 * by index without stream or promise machinery.
 */
export function readFeedFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new FeedUnavailableError(file, { cause });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
