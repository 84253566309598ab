/**
 * A line or record of a data file is malformed (market data, news, labelled text). The message
 * reads `<file>:<line>: <problem>` so it can be pasted into an editor; line 0 means the whole
 * file. Not retryable: the same file fails the same way.
 */
export class FileLineError extends Error {
  readonly retryable = false;
  constructor(
    /** A stable code for the kind of file (`feed_format`, `news_format`, ...). */
    readonly code: string,
    /** The file as it was given. */
    readonly file: string,
    /** 1-based line (for CSV: the line the record starts on); 0 for the whole file. */
    readonly line: number,
    /** What is wrong, as a sentence fragment without the location. */
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`, options);
    this.name = new.target.name;
  }
}
